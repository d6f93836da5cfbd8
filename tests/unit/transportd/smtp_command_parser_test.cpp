// Command parser: verbs, MAIL FROM / RCPT TO paths and parameters, RFC 5321 mailbox syntax.
#include "transportd/smtp/command_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "store/text_util.h"

namespace transport::smtp {
namespace {

TEST(SmtpCommandParser, Verbs) {
  struct Case {
    const char* line;
    Verb verb;
    const char* argument;
  };
  const Case cases[] = {
      {"EHLO client.example", Verb::ehlo, "client.example"},
      {"ehlo client.example", Verb::ehlo, "client.example"},
      {"HeLo  client.example  ", Verb::helo, "client.example"},
      {"MAIL FROM:<a@b.example>", Verb::mail, "FROM:<a@b.example>"},
      {"RCPT TO:<a@b.example>", Verb::rcpt, "TO:<a@b.example>"},
      {"DATA", Verb::data, ""},
      {"DATA ", Verb::data, ""},
      {"BDAT 100 LAST", Verb::bdat, "100 LAST"},
      {"RSET", Verb::rset, ""},
      {"NOOP hello", Verb::noop, "hello"},
      {"VRFY alice", Verb::vrfy, "alice"},
      {"EXPN staff", Verb::expn, "staff"},
      {"HELP", Verb::help, ""},
      {"quit", Verb::quit, ""},
      {"STARTTLS", Verb::starttls, ""},
      {"AUTH PLAIN", Verb::auth, "PLAIN"},
      {"MAILX FROM:<a@b>", Verb::unknown, "FROM:<a@b>"},
      {"", Verb::unknown, ""},
      {" QUIT", Verb::unknown, "QUIT"},
      {"DAT", Verb::unknown, ""},
  };
  for (const Case& c : cases) {
    const Command command = parse_command(c.line);
    EXPECT_EQ(command.verb, c.verb) << c.line;
    EXPECT_EQ(command.argument, c.argument) << c.line;
  }
}

TEST(SmtpCommandParser, Mailboxes) {
  struct Case {
    std::string mailbox;
    bool valid;
  };
  const Case cases[] = {
      {"alice@example.com", true},
      {"Alice.Smith+tag@Example.COM", true},
      {"!#$%&'*+-/=?^_`{|}~@example.com", true},
      {"\"john doe\"@example.com", true},
      {"\"a\\\"b\"@example.com", true},
      {"\"a@b\"@example.com", true},
      {"\"\"@example.com", true},
      {"a@[192.0.2.1]", true},
      {"a@[IPv6:2001:db8::1]", true},
      {"a@[ipv6:::1]", true},
      {"a@localhost", true},
      {"a@x-y.example", true},
      {"a@123.example", true},
      {std::string(64, 'l') + "@example.com", true},
      {std::string(65, 'l') + "@example.com", false},
      {std::string(300, 'l') + "@example.com", false},
      {"a@" + std::string(63, 'd') + ".example", true},
      {"a@" + std::string(64, 'd') + ".example", false},
      {"a@" + std::string(63, 'd') + "." + std::string(63, 'd') + "." + std::string(63, 'd') + "." +
           std::string(63, 'd'),
       true},  // 255 octets
      {"a@" + std::string(63, 'd') + "." + std::string(63, 'd') + "." + std::string(63, 'd') + "." +
           std::string(63, 'd') + "x",
       false},  // 256
      {"alice", false},
      {"@example.com", false},
      {"alice@", false},
      {"a..b@example.com", false},
      {".a@example.com", false},
      {"a.@example.com", false},
      {"a b@example.com", false},
      {"a@b@example.com", false},
      {"a@exa_mple.com", false},
      {"a@-example.com", false},
      {"a@example-.com", false},
      {"a@example.com.", false},
      {"a@.example.com", false},
      {"a@example..com", false},
      {"a@[300.1.1.1]", false},
      {"a@[1.2.3]", false},
      {"a@[1.2.3.4.5]", false},
      {"a@[0001.2.3.4]", false},
      {"a@[IPv6:1.2.3.4]", false},
      {"a@[IPv6:zz::1]", false},
      {"a@[x-tag:stuff]", false},
      {"a@[]", false},
      {"\"unterminated@example.com", false},
      {"\"tab\there\"@example.com", false},
      {"caf\xc3\xa9@example.com", false},
      {"a@ex\xc3\xa4mple.com", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(is_valid_mailbox(c.mailbox), c.valid) << c.mailbox;
  }
}

TEST(SmtpCommandParser, Paths) {
  struct Case {
    const char* argument;
    PathError error;
    const char* address;
    std::size_t parameters;
  };
  const Case cases[] = {
      {"FROM:<alice@example.com>", PathError::none, "alice@example.com", 0},
      {"from:<alice@example.com>", PathError::none, "alice@example.com", 0},
      {"FROM: <alice@example.com>", PathError::none, "alice@example.com", 0},
      {"FROM:<>", PathError::none, "", 0},
      {"FROM:<@relay.example,@b.example:alice@example.com>", PathError::none, "alice@example.com", 0},
      {"FROM:<@relay.example:alice@example.com>", PathError::none, "alice@example.com", 0},
      {"FROM:<\"x>y\"@example.com>", PathError::none, "\"x>y\"@example.com", 0},
      {"FROM:<alice@example.com> SIZE=100 BODY=8BITMIME", PathError::none, "alice@example.com", 2},
      {"FROM:<alice@example.com>  SIZE=100", PathError::none, "alice@example.com", 1},
      {"FROM:<alice@example.com> SMTPUTF8", PathError::none, "alice@example.com", 1},
      {"FROM:alice@example.com", PathError::missing_brackets, "", 0},
      {"FROM:<alice@example.com", PathError::missing_brackets, "", 0},
      {"FROM:<alice@example.com>SIZE=1", PathError::missing_brackets, "", 0},
      {"FROM:", PathError::missing_brackets, "", 0},
      {"alice@example.com", PathError::missing_keyword, "", 0},
      {"", PathError::missing_keyword, "", 0},
      {"TO:<alice@example.com>", PathError::missing_keyword, "", 0},
      {"FROM:<alice>", PathError::bad_address, "", 0},
      {"FROM:<@relay.example>", PathError::bad_address, "", 0},
      {"FROM:<@relay.example,:alice@example.com>", PathError::bad_address, "", 0},
      {"FROM:<@bad_domain:alice@example.com>", PathError::bad_address, "", 0},
      {"FROM:<alice@example.com> SIZE=", PathError::bad_parameters, "", 0},
      {"FROM:<alice@example.com> =1", PathError::bad_parameters, "", 0},
      {"FROM:<alice@example.com> -X=1", PathError::bad_parameters, "", 0},
      {"FROM:<alice@example.com> X_Y=1", PathError::bad_parameters, "", 0},
      {"FROM:<alice@example.com> X=a=b", PathError::bad_parameters, "", 0},
  };
  for (const Case& c : cases) {
    const PathArgument path = parse_mail_from(c.argument);
    EXPECT_EQ(path.error, c.error) << c.argument;
    if (c.error == PathError::none) {
      EXPECT_EQ(path.address, c.address) << c.argument;
      EXPECT_EQ(path.null_path, std::string_view(c.address).empty()) << c.argument;
      EXPECT_EQ(path.parameters.size(), c.parameters) << c.argument;
    }
  }

  const std::string long_local = "FROM:<" + std::string(300, 'x') + "@example.com>";
  EXPECT_EQ(parse_mail_from(long_local).error, PathError::local_part_too_long);

  const PathArgument rcpt = parse_rcpt_to("to:<bob@example.com> NOTIFY=NEVER");
  EXPECT_EQ(rcpt.error, PathError::none);
  EXPECT_EQ(rcpt.address, "bob@example.com");
  ASSERT_EQ(rcpt.parameters.size(), 1u);
  EXPECT_EQ(rcpt.parameters[0].keyword, "NOTIFY");
  EXPECT_EQ(rcpt.parameters[0].value, "NEVER");
  EXPECT_TRUE(rcpt.parameters[0].has_value);
  EXPECT_EQ(parse_rcpt_to("FROM:<bob@example.com>").error, PathError::missing_keyword);

  const PathArgument flag = parse_mail_from("FROM:<> SMTPUTF8");
  ASSERT_EQ(flag.parameters.size(), 1u);
  EXPECT_FALSE(flag.parameters[0].has_value);
  EXPECT_TRUE(flag.null_path);
}

TEST(SmtpCommandParser, PostmasterWithoutDomainIsARecipientOnly) {
  for (const char* argument : {"TO:<Postmaster>", "TO:<postmaster>", "to:<POSTMASTER>", "TO: <PostMaster>"}) {
    const PathArgument path = parse_rcpt_to(argument);
    EXPECT_EQ(path.error, PathError::none) << argument;
    EXPECT_TRUE(path.postmaster) << argument;
    EXPECT_FALSE(path.null_path) << argument;
    EXPECT_TRUE(store::iequals(path.address, "postmaster")) << argument;  // the word as sent
  }
  EXPECT_EQ(parse_rcpt_to("TO:<Postmaster>").address, "Postmaster");
  // With a domain it is an ordinary address; other words without a domain stay errors.
  const PathArgument with_domain = parse_rcpt_to("TO:<postmaster@example.com>");
  EXPECT_EQ(with_domain.error, PathError::none);
  EXPECT_FALSE(with_domain.postmaster);
  EXPECT_EQ(parse_rcpt_to("TO:<postmistress>").error, PathError::bad_address);
  EXPECT_EQ(parse_rcpt_to("TO:<postmaster.>").error, PathError::bad_address);
  EXPECT_EQ(parse_rcpt_to("TO:<@relay.example:Postmaster>").error, PathError::bad_address);
  // A sender must have a domain.
  EXPECT_EQ(parse_mail_from("FROM:<Postmaster>").error, PathError::bad_address);
  // Parameters still parse after it.
  EXPECT_EQ(parse_rcpt_to("TO:<Postmaster> NOTIFY=NEVER").parameters.size(), 1u);
}

TEST(SmtpCommandParser, Utf8Addresses) {
  struct Case {
    std::string mailbox;
    bool valid_utf8;  // is_valid_mailbox(mailbox, true); with false every one of these is refused
  };
  const Case cases[] = {
      {"caf\xc3\xa9@example.com", true},                        // café
      {"\xe7\x94\xa8\xe6\x88\xb7@example.com", true},             // 用户
      {"j\xc3\xb6rg.m\xc3\xbcller@example.com", true},              // dot-string of UTF-8 atoms
      {"a@ex\xc3\xa4mple.com", true},                           // U-label
      {"\xe7\x94\xa8@\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95", true},  // 用@例子.测试
      {"\"caf\xc3\xa9 au lait\"@example.com", true},              // quoted, UTF-8 qtext
      {"\xf0\x9f\x93\xa7@example.com", true},                     // 4-byte sequence
      {"caf\xc3@example.com", false},                           // truncated sequence
      {"caf\xe9@example.com", false},                           // Latin-1, not UTF-8
      {"\xc0\xaf@example.com", false},                          // overlong
      {"\xed\xa0\x80@example.com", false},                      // surrogate
      {"a@\xc3\xa4-.example", false},                          // label ends with '-'
      {"a@[IPv6:\xc3\xa4::1]", false},                         // no UTF-8 in address literals
      {"caf\xc3\xa9..x@example.com", false},                    // dot-string rules still apply
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(is_valid_mailbox(c.mailbox)) << c.mailbox;
    EXPECT_EQ(is_valid_mailbox(c.mailbox, true), c.valid_utf8) << c.mailbox;
    const std::string argument = "TO:<" + c.mailbox + ">";  // the path's views point into it
    const PathArgument path = parse_rcpt_to(argument);
    EXPECT_EQ(path.error, c.valid_utf8 ? PathError::none : PathError::bad_address) << c.mailbox;
    if (c.valid_utf8) {
      EXPECT_TRUE(path.utf8) << c.mailbox;
      EXPECT_EQ(path.address, c.mailbox);
    }
  }
  // ASCII addresses are not marked, and the parser leaves the SMTPUTF8 decision to the protocol.
  EXPECT_FALSE(parse_mail_from("FROM:<alice@example.com> SMTPUTF8").utf8);
  const PathArgument sender = parse_mail_from("FROM:<caf\xc3\xa9@example.com>");
  EXPECT_EQ(sender.error, PathError::none);
  EXPECT_TRUE(sender.utf8);
  // 64 octets, not characters: 32 two-byte characters fit, 33 do not.
  std::string local;
  for (int i = 0; i < 32; ++i) local += "\xc3\xa9";
  EXPECT_TRUE(is_valid_mailbox(local + "@example.com", true));
  EXPECT_EQ(parse_rcpt_to("TO:<" + local + "\xc3\xa9@example.com>").error, PathError::local_part_too_long);
}

TEST(SmtpCommandParser, Decimal) {
  struct Case {
    const char* text;
    bool ok;
    std::uint64_t value;
  };
  const Case cases[] = {
      {"0", true, 0},
      {"1048576", true, 1048576},
      {"007", true, 7},
      {"18446744073709551615", true, UINT64_MAX},
      {"18446744073709551616", false, 0},
      {"123456789012345678901", false, 0},
      {"", false, 0},
      {"-1", false, 0},
      {"+1", false, 0},
      {"1k", false, 0},
      {" 1", false, 0},
  };
  for (const Case& c : cases) {
    std::uint64_t value = 42;
    EXPECT_EQ(parse_decimal(c.text, value), c.ok) << c.text;
    if (c.ok) {
      EXPECT_EQ(value, c.value) << c.text;
    }
  }
}

}  // namespace
}  // namespace transport::smtp
