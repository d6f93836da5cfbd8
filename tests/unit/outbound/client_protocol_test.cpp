// The outbound client's pure core: replies parsed from any split of the octets (malformed and oversized
// ones refused), EHLO capabilities, MAIL/RCPT parameters only where the next hop advertised them, and
// the body encoder at every chunk boundary.
#include "transportd/outbound/client_protocol.h"

#include <gtest/gtest.h>

#include <string>

namespace transport::outbound {
namespace {

using Status = ReplyParser::Status;

// Feeds `wire` to one parser in pieces of `step` octets, as reads would deliver them.
Status parse_in_steps(std::string_view wire, std::size_t step, SmtpReply& reply, std::size_t& consumed) {
  ReplyParser parser;
  for (std::size_t end = std::min(step, wire.size());; end = std::min(end + step, wire.size())) {
    const Status status = parser.parse(wire.substr(0, end), reply, consumed);
    if (status != Status::incomplete || end == wire.size()) return status;
  }
}

TEST(OutboundReplyParser, SingleLineWithEnhancedCode) {
  ReplyParser parser;
  SmtpReply reply;
  std::size_t consumed = 0;
  const std::string wire = "550 5.1.1 <bob@example.test>: User unknown\r\nNEXT";
  ASSERT_EQ(parser.parse(wire, reply, consumed), Status::complete);
  EXPECT_EQ(consumed, wire.size() - 4);
  EXPECT_EQ(reply.code, 550);
  EXPECT_EQ(reply.enhanced, "5.1.1");
  EXPECT_EQ(reply.text, "<bob@example.test>: User unknown");
  EXPECT_TRUE(reply.permanent());
  EXPECT_FALSE(reply.transient());
  EXPECT_EQ(reply.to_string(), "550 5.1.1 <bob@example.test>: User unknown");
}

TEST(OutboundReplyParser, MultiLineAtEverySplitPoint) {
  const std::string wire = "250-mx.example.test Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n";
  for (std::size_t step = 1; step <= wire.size(); ++step) {
    SmtpReply reply;
    std::size_t consumed = 0;
    ASSERT_EQ(parse_in_steps(wire, step, reply, consumed), Status::complete) << step;
    EXPECT_EQ(consumed, wire.size());
    EXPECT_EQ(reply.code, 250);
    EXPECT_EQ(reply.enhanced, "");
    EXPECT_EQ(reply.text, "mx.example.test Hello\nPIPELINING\nSIZE 1000\n8BITMIME");
  }
}

TEST(OutboundReplyParser, RepeatedEnhancedCodeSaidOnce) {
  ReplyParser parser;
  SmtpReply reply;
  std::size_t consumed = 0;
  ASSERT_EQ(parser.parse("452-4.5.3 Too many\r\n452 4.5.3 recipients\r\n", reply, consumed), Status::complete);
  EXPECT_EQ(reply.enhanced, "4.5.3");
  EXPECT_EQ(reply.text, "Too many\nrecipients");
  EXPECT_TRUE(reply.transient());
  EXPECT_EQ(reply.to_string(), "452 4.5.3 Too many recipients");
}

TEST(OutboundReplyParser, EnhancedCodeOnlyWhenItIsOne) {
  struct Case {
    const char* wire;
    const char* enhanced;
    const char* text;
  };
  const Case cases[] = {
      {"250 2.0.0\r\n", "2.0.0", ""},
      {"250 5.0.0 wrong class\r\n", "", "5.0.0 wrong class"},  // RFC 2034: the class repeats the code's
      {"250 2.0.1000 ok\r\n", "", "2.0.1000 ok"},
      {"250 2.0.0x ok\r\n", "", "2.0.0x ok"},
      {"354 End data with <CR><LF>.<CR><LF>\r\n", "", "End data with <CR><LF>.<CR><LF>"},
      {"220\r\n", "", ""},
      {"250 ok\n", "", "ok"},  // bare LF: taken
  };
  for (const Case& c : cases) {
    ReplyParser parser;
    SmtpReply reply;
    std::size_t consumed = 0;
    ASSERT_EQ(parser.parse(c.wire, reply, consumed), Status::complete) << c.wire;
    EXPECT_EQ(reply.enhanced, c.enhanced) << c.wire;
    EXPECT_EQ(reply.text, c.text) << c.wire;
  }
}

TEST(OutboundReplyParser, MalformedRepliesAreErrors) {
  for (const char* wire : {"hello\r\n", "25\r\n", "250x ok\r\n", "650 ok\r\n", "190 ok\r\n", "2a0 ok\r\n",
                           "250-first\r\n251 other code\r\n", "HTTP/1.1 400 Bad Request\r\n", "\r\n"}) {
    ReplyParser parser;
    SmtpReply reply;
    std::size_t consumed = 0;
    EXPECT_EQ(parser.parse(wire, reply, consumed), Status::malformed) << wire;
  }
}

TEST(OutboundReplyParser, OversizedReplyIsAnError) {
  ReplyParser parser;
  SmtpReply reply;
  std::size_t consumed = 0;
  std::string wire;
  while (wire.size() < ReplyParser::kMaxReplySize) wire += "250-" + std::string(100, 'x') + "\r\n";
  EXPECT_EQ(parser.parse(wire, reply, consumed), Status::too_long);
  // And one endless line.
  ReplyParser other;
  EXPECT_EQ(other.parse("250 " + std::string(ReplyParser::kMaxReplySize, 'y'), reply, consumed), Status::too_long);
  // Just under the limit is fine.
  ReplyParser third;
  std::string fits = "250 " + std::string(ReplyParser::kMaxReplySize - 6, 'z') + "\r\n";
  EXPECT_EQ(third.parse(fits, reply, consumed), Status::complete);
}

TEST(OutboundReplyParser, IncompleteUntilTheLastLine) {
  ReplyParser parser;
  SmtpReply reply;
  std::size_t consumed = 0;
  EXPECT_EQ(parser.parse("250-one\r\n250-two\r\n", reply, consumed), Status::incomplete);
  EXPECT_EQ(parser.parse("250-one\r\n250-two\r\n250 thr", reply, consumed), Status::incomplete);
  EXPECT_EQ(parser.parse("250-one\r\n250-two\r\n250 three\r\n", reply, consumed), Status::complete);
  EXPECT_EQ(reply.text, "one\ntwo\nthree");
  // The parser is ready for the next reply.
  EXPECT_EQ(parser.parse("354 go\r\n", reply, consumed), Status::complete);
  EXPECT_EQ(reply.code, 354);
}

TEST(OutboundReplyParser, NoReplyIsTransientAndShowsItsText) {
  const SmtpReply failure = local_reply(0, {}, "connection to mx[127.0.0.1]:25 lost: Connection reset by peer");
  EXPECT_TRUE(failure.transient());
  EXPECT_FALSE(failure.permanent());
  EXPECT_EQ(failure.to_string(), "connection to mx[127.0.0.1]:25 lost: Connection reset by peer");
}

SmtpReply ehlo(std::string text) {
  SmtpReply reply;
  reply.code = 250;
  reply.text = std::move(text);
  return reply;
}

TEST(OutboundCapabilities, EveryKeywordWeKnow) {
  const Capabilities c = parse_ehlo(ehlo(
      "mx.example.test\npipelining\nSIZE 35882577\n8BITMIME\nSMTPUTF8\nSTARTTLS\nDSN\nCHUNKING\n"
      "ENHANCEDSTATUSCODES\nAUTH CRAM-MD5 PLAIN LOGIN\nX-UNKNOWN yes"));
  EXPECT_TRUE(c.pipelining);
  EXPECT_TRUE(c.size);
  EXPECT_EQ(c.size_limit, 35882577u);
  EXPECT_TRUE(c.eight_bit_mime);
  EXPECT_TRUE(c.smtputf8);
  EXPECT_TRUE(c.starttls);
  EXPECT_TRUE(c.dsn);
  EXPECT_TRUE(c.chunking);
  EXPECT_TRUE(c.enhanced_status_codes);
  EXPECT_TRUE(c.auth_plain);
  EXPECT_TRUE(c.auth_login);
}

TEST(OutboundCapabilities, GreetingAloneAdvertisesNothing) {
  const Capabilities c = parse_ehlo(ehlo("mx.example.test PIPELINING STARTTLS"));
  EXPECT_FALSE(c.pipelining);
  EXPECT_FALSE(c.starttls);
  EXPECT_FALSE(c.size);
}

TEST(OutboundCapabilities, SizeWithoutLimitAndOldAuthForm) {
  const Capabilities c = parse_ehlo(ehlo("mx\nSIZE\nAUTH=LOGIN"));
  EXPECT_TRUE(c.size);
  EXPECT_EQ(c.size_limit, 0u);
  EXPECT_TRUE(c.auth_login);
  EXPECT_FALSE(c.auth_plain);
  const Capabilities junk = parse_ehlo(ehlo("mx\nSIZE lots\nAUTH GSSAPI"));
  EXPECT_TRUE(junk.size);
  EXPECT_EQ(junk.size_limit, 0u);
  EXPECT_FALSE(junk.auth_plain);
  EXPECT_FALSE(junk.auth_login);
}

OutboundEnvelope full_envelope() {
  OutboundEnvelope envelope;
  envelope.mail_from = "alice@example.test";
  envelope.dsn.ret = dsn::Return::headers;
  envelope.dsn.envid = "QQ 314+159";
  envelope.eight_bit = true;
  envelope.smtputf8 = true;
  envelope.size = 4096;
  OutboundRecipient bob;
  bob.address = "bob@example.net";
  bob.dsn.notify.given = true;
  bob.dsn.notify.success = true;
  bob.dsn.notify.failure = true;
  bob.dsn.notify.delay = false;
  bob.dsn.orcpt = "rfc822;Bob+X@example.net";
  envelope.recipients.push_back(bob);
  return envelope;
}

TEST(OutboundCommands, EveryParameterWhenEverythingIsAdvertised) {
  Capabilities next_hop;
  next_hop.size = next_hop.eight_bit_mime = next_hop.smtputf8 = next_hop.dsn = true;
  const OutboundEnvelope envelope = full_envelope();
  std::string out;
  append_mail_from(out, envelope, next_hop);
  EXPECT_EQ(out, "MAIL FROM:<alice@example.test> SIZE=4096 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ+20314+2B159\r\n");
  out.clear();
  append_rcpt_to(out, envelope.recipients[0], next_hop);
  EXPECT_EQ(out, "RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+2BX@example.net\r\n");
}

TEST(OutboundCommands, NothingTheNextHopDidNotAdvertise) {
  const Capabilities next_hop;
  const OutboundEnvelope envelope = full_envelope();
  std::string out;
  append_mail_from(out, envelope, next_hop);
  EXPECT_EQ(out, "MAIL FROM:<alice@example.test>\r\n");
  out.clear();
  append_rcpt_to(out, envelope.recipients[0], next_hop);
  EXPECT_EQ(out, "RCPT TO:<bob@example.net>\r\n");
}

TEST(OutboundCommands, ParametersOnlyWhenGiven) {
  Capabilities next_hop;
  next_hop.size = next_hop.eight_bit_mime = next_hop.smtputf8 = next_hop.dsn = true;
  OutboundEnvelope envelope;  // null sender, 7-bit, size unknown, no DSN parameters
  OutboundRecipient carol;
  carol.address = "carol@example.net";
  std::string out;
  append_mail_from(out, envelope, next_hop);
  append_rcpt_to(out, carol, next_hop);
  EXPECT_EQ(out, "MAIL FROM:<>\r\nRCPT TO:<carol@example.net>\r\n");
  // NOTIFY=NEVER is passed on as given.
  carol.dsn.notify.given = true;
  carol.dsn.notify.never = true;
  out.clear();
  append_rcpt_to(out, carol, next_hop);
  EXPECT_EQ(out, "RCPT TO:<carol@example.net> NOTIFY=NEVER\r\n");
}

TEST(OutboundCommands, AddressesWithControlCharactersDoNotFit) {
  EXPECT_TRUE(fits_in_command("bob@example.net"));
  EXPECT_TRUE(fits_in_command(""));
  EXPECT_TRUE(fits_in_command("b\xc3\xb6" "b@example.net"));  // UTF-8 is SMTPUTF8's business, not a break
  EXPECT_FALSE(fits_in_command("bob@example.net>\r\nRCPT TO:<eve@example.org"));
  EXPECT_FALSE(fits_in_command(std::string("bob\0@x", 6)));
  EXPECT_FALSE(fits_in_command("bob\x7f@x"));
}

std::string encode_whole(std::string_view stored) {
  BodyEncoder encoder;
  std::string out;
  encoder.encode(stored, out);
  encoder.finish(out);
  return out;
}

TEST(OutboundBodyEncoder, LineEndsDotsAndTheEnd) {
  EXPECT_EQ(encode_whole(""), ".\r\n");
  EXPECT_EQ(encode_whole("a\n"), "a\r\n.\r\n");
  EXPECT_EQ(encode_whole("a"), "a\r\n.\r\n");  // a last line without its end gets one
  EXPECT_EQ(encode_whole(".\n"), "..\r\n.\r\n");
  EXPECT_EQ(encode_whole("..x\n.\n\n.y"), "...x\r\n..\r\n\r\n..y\r\n.\r\n");
  EXPECT_EQ(encode_whole("a.b\n c.\n"), "a.b\r\n c.\r\n.\r\n");  // dots inside lines stay single
  EXPECT_EQ(encode_whole("a\r\n.b\r\n"), "a\r\n..b\r\n.\r\n");  // a stored CRLF is one line end
  EXPECT_EQ(encode_whole("a\rb\n"), "a\rb\r\n.\r\n");           // a lone CR is data
  EXPECT_EQ(encode_whole("a\r.b\n"), "a\r.b\r\n.\r\n");         // ... and starts no line
  EXPECT_EQ(encode_whole("a\r"), "a\r\n.\r\n");                 // one at the very end ends the line
  EXPECT_EQ(encode_whole("\n\n"), "\r\n\r\n.\r\n");
}

TEST(OutboundBodyEncoder, EverySplitPointGivesTheSameWire) {
  const std::string stored =
      "Subject: dots\n\n.leading\n..double\nmiddle.dot\n.\nCRLF line\r\n.after crlf\r\nlone\rcr\n\n.\nlast";
  const std::string expected = encode_whole(stored);
  ASSERT_EQ(expected,
            "Subject: dots\r\n\r\n..leading\r\n...double\r\nmiddle.dot\r\n..\r\nCRLF line\r\n..after crlf\r\n"
            "lone\rcr\r\n\r\n..\r\nlast\r\n.\r\n");
  for (std::size_t first = 0; first <= stored.size(); ++first) {
    for (std::size_t second = first; second <= stored.size(); ++second) {
      BodyEncoder encoder;
      std::string out;
      encoder.encode(std::string_view(stored).substr(0, first), out);
      encoder.encode(std::string_view(stored).substr(first, second - first), out);
      encoder.encode(std::string_view(stored).substr(second), out);
      encoder.finish(out);
      ASSERT_EQ(out, expected) << "split at " << first << " and " << second;
    }
  }
  // One octet at a time, and the encoder reused for a second message.
  BodyEncoder encoder;
  std::string out;
  for (char c : stored) encoder.encode(std::string_view(&c, 1), out);
  encoder.finish(out);
  EXPECT_EQ(out, expected);
  encoder.reset();
  out.clear();
  encoder.encode(".x", out);
  encoder.finish(out);
  EXPECT_EQ(out, "..x\r\n.\r\n");
}

}  // namespace
}  // namespace transport::outbound
