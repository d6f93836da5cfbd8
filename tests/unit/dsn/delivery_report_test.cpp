// The delivery report (RFC 3464): its MIME structure read back, the fields of each part, what is
// returned of the original, and the limits that hold whatever the original message or the remote
// server sent. Also which recipients get a report and the status of a reply.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "transportd/dsn/delivery_report.h"
#include "transportd/rfc5322_date.h"

namespace transport::dsn {
namespace {

constexpr std::int64_t kArrival = 1796000107;  // Mon, 30 Nov 2026 00:55:07 +0000
constexpr std::int64_t kNow = kArrival + 3600;

const std::string kOriginal =
    "Received: from client.example.org ([192.0.2.7])\n"
    "\tby mx.example.com (transportd) with ESMTP id Q1; Mon, 30 Nov 2026 00:55:07 +0000\n"
    "From: Alice <alice@example.org>\n"
    "To: bob@example.net\n"
    "Subject: Quarterly\n"
    " figures\n"
    "Message-ID: <original@example.org>\n"
    "\n"
    "Hello Bob,\n"
    "the figures are attached.\n";

RecipientReport failed_bob() {
  RecipientReport recipient;
  recipient.final_recipient = "bob@example.net";
  recipient.original_recipient = "rfc822;Bob@Example.NET";
  recipient.action = Action::failed;
  recipient.status = "5.1.1";
  recipient.remote_mta = "mx.example.net";
  recipient.diagnostic = "550 5.1.1 No such user";
  recipient.last_attempt = kNow - 60;
  return recipient;
}

ReportRequest request_for(std::vector<RecipientReport> recipients, std::string_view original = kOriginal) {
  ReportRequest request;
  request.reporting_mta = "mx.example.com";
  request.postmaster = "postmaster@example.com";
  request.envid = "QQ314159";
  request.arrival_date = kArrival;
  request.original_sender = "alice@example.org";
  request.original_message = original;
  request.recipients = std::move(recipients);
  request.now = kNow;
  request.message_id = "dsn.Q1.1@mx.example.com";
  request.boundary_seed = "Q1.1";
  return request;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return lines;
}

// A MIME entity split as a reader would: its header section (unfolded field lines) and body.
struct Entity {
  std::vector<std::string> fields;  // "Name: value", unfolded
  std::string body;

  std::string field(std::string_view name) const {
    for (const std::string& field : fields) {
      const std::size_t colon = field.find(':');
      if (colon != std::string::npos && field.compare(0, colon, name) == 0) {
        const std::size_t start = field.find_first_not_of(' ', colon + 1);
        return start == std::string::npos ? std::string() : field.substr(start);
      }
    }
    return {};
  }
  int count(std::string_view name) const {
    int n = 0;
    for (const std::string& field : fields) n += field.starts_with(std::string(name) + ":");
    return n;
  }
};

Entity parse_entity(std::string_view text) {
  Entity entity;
  std::size_t at = 0;
  while (at < text.size() && text[at] != '\n') {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(at, end - at);
    if ((line.starts_with(' ') || line.starts_with('\t')) && !entity.fields.empty()) {
      entity.fields.back() += line;
    } else {
      entity.fields.emplace_back(line);
    }
    at = end + 1;
  }
  if (at < text.size()) entity.body = text.substr(at + 1);
  return entity;
}

struct Report {
  Entity top;
  std::string boundary;
  std::vector<Entity> parts;
  bool closed = false;
};

// Splits a multipart/report at its boundary delimiters (RFC 2046 §5.1.1).
Report parse_report(std::string_view text) {
  Report report;
  report.top = parse_entity(text);
  const std::string content_type = report.top.field("Content-Type");
  const std::size_t b = content_type.find("boundary=\"");
  if (b == std::string::npos) return report;
  report.boundary = content_type.substr(b + 10, content_type.find('"', b + 10) - (b + 10));
  const std::string delimiter = "\n--" + report.boundary;
  std::string_view body = report.top.body;
  std::size_t at = body.find(delimiter);
  while (at != std::string_view::npos) {
    std::size_t after = at + delimiter.size();
    if (body.substr(after, 3) == "--\n") {
      report.closed = true;
      break;
    }
    if (after >= body.size() || body[after] != '\n') return report;
    const std::size_t next = body.find(delimiter, after);
    report.parts.push_back(parse_entity(body.substr(after + 1, next == std::string_view::npos ? std::string_view::npos : next - after - 1)));
    at = next;
  }
  return report;
}

// Per-message and per-recipient field groups of a message/delivery-status body.
std::vector<Entity> status_groups(std::string_view body) {
  std::vector<Entity> groups;
  std::size_t at = 0;
  while (at < body.size()) {
    std::size_t end = body.find("\n\n", at);
    const std::string_view group = body.substr(at, end == std::string_view::npos ? std::string_view::npos : end + 1 - at);
    groups.push_back(parse_entity(std::string(group) + "\n"));
    if (end == std::string_view::npos) break;
    at = end + 2;
  }
  return groups;
}

// The text with its line breaks and indentation turned into single spaces: phrases that wrap.
std::string flat(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') c = ' ';
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out += c;
  }
  return out;
}

std::size_t longest_line(std::string_view text) {
  std::size_t longest = 0;
  for (std::string_view line : lines_of(text)) longest = std::max(longest, line.size());
  return longest;
}

TEST(DsnReport, StructureAndHeaders) {
  const std::string text = compose_report(request_for({failed_bob()}));
  const Report report = parse_report(text);
  EXPECT_EQ(report.top.field("From"), "\"Mail Delivery System\" <postmaster@example.com>");
  EXPECT_EQ(report.top.field("To"), "<alice@example.org>");
  EXPECT_EQ(report.top.field("Subject"), "Undeliverable: Quarterly figures");
  EXPECT_EQ(report.top.field("Date"), "Mon, 30 Nov 2026 01:55:07 +0000");
  EXPECT_EQ(report.top.field("Message-ID"), "<dsn.Q1.1@mx.example.com>");
  EXPECT_EQ(report.top.field("Auto-Submitted"), "auto-replied");
  EXPECT_EQ(report.top.field("MIME-Version"), "1.0");
  EXPECT_TRUE(report.top.field("Content-Type").starts_with("multipart/report; report-type=delivery-status;"))
      << report.top.field("Content-Type");
  for (std::string_view name : {"From", "To", "Subject", "Date", "Message-ID", "Content-Type"}) {
    EXPECT_EQ(report.top.count(name), 1) << name;
  }
  ASSERT_FALSE(report.boundary.empty());
  EXPECT_LE(report.boundary.size(), 70u);
  ASSERT_EQ(report.parts.size(), 3u) << text;
  EXPECT_TRUE(report.closed);
  EXPECT_EQ(report.parts[0].field("Content-Type"), "text/plain; charset=us-ascii");
  EXPECT_EQ(report.parts[1].field("Content-Type"), "message/delivery-status");
  EXPECT_EQ(report.parts[2].field("Content-Type"), "text/rfc822-headers");
  EXPECT_FALSE(needs_8bitmime(text));
  EXPECT_EQ(text.find('\r'), std::string::npos);
}

TEST(DsnReport, DeliveryStatusFields) {
  RecipientReport carol = failed_bob();
  carol.final_recipient = "carol@example.net";
  carol.original_recipient.clear();
  carol.status = "5.2.2";
  carol.diagnostic = "552 5.2.2 Mailbox full";
  const Report report = parse_report(compose_report(request_for({failed_bob(), carol})));
  ASSERT_EQ(report.parts.size(), 3u);
  const std::vector<Entity> groups = status_groups(report.parts[1].body);
  ASSERT_EQ(groups.size(), 3u) << report.parts[1].body;
  EXPECT_EQ(groups[0].field("Reporting-MTA"), "dns; mx.example.com");
  EXPECT_EQ(groups[0].field("Original-Envelope-Id"), "QQ314159");
  EXPECT_EQ(groups[0].field("Arrival-Date"), "Mon, 30 Nov 2026 00:55:07 +0000");

  EXPECT_EQ(groups[1].field("Final-Recipient"), "rfc822;bob@example.net");
  EXPECT_EQ(groups[1].field("Original-Recipient"), "rfc822;Bob@Example.NET");
  EXPECT_EQ(groups[1].field("Action"), "failed");
  EXPECT_EQ(groups[1].field("Status"), "5.1.1");
  EXPECT_EQ(groups[1].field("Remote-MTA"), "dns; mx.example.net");
  EXPECT_EQ(groups[1].field("Diagnostic-Code"), "smtp; 550 5.1.1 No such user");
  EXPECT_EQ(groups[1].field("Last-Attempt-Date"), "Mon, 30 Nov 2026 01:54:07 +0000");
  EXPECT_EQ(groups[1].count("Will-Retry-Until"), 0);

  EXPECT_EQ(groups[2].field("Final-Recipient"), "rfc822;carol@example.net");
  EXPECT_EQ(groups[2].count("Original-Recipient"), 0);
  EXPECT_EQ(groups[2].field("Status"), "5.2.2");

  // The person reads what happened, to whom, what the server said and what to do.
  const std::string human = flat(report.parts[0].body);
  EXPECT_NE(human.find("bob@example.net"), std::string::npos);
  EXPECT_NE(human.find("carol@example.net"), std::string::npos);
  EXPECT_NE(human.find("The server mx.example.net answered:"), std::string::npos);
  EXPECT_NE(human.find("550 5.1.1 No such user"), std::string::npos);
  EXPECT_NE(human.find("the mailbox does not exist"), std::string::npos);
  EXPECT_NE(human.find("the mailbox is full"), std::string::npos);
  EXPECT_NE(human.find("Check the address"), std::string::npos);
  EXPECT_NE(human.find("What you can do"), std::string::npos);
  EXPECT_EQ(human.find("still trying"), std::string::npos);
}

TEST(DsnReport, OptionalFieldsLeftOutWhenNotKnown) {
  RecipientReport recipient = failed_bob();
  recipient.remote_mta.clear();
  recipient.diagnostic.clear();
  recipient.last_attempt = 0;
  ReportRequest request = request_for({recipient});
  request.envid.clear();
  request.arrival_date = 0;
  const Report report = parse_report(compose_report(request));
  ASSERT_EQ(report.parts.size(), 3u);
  const std::vector<Entity> groups = status_groups(report.parts[1].body);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].count("Original-Envelope-Id"), 0);
  EXPECT_EQ(groups[0].count("Arrival-Date"), 0);
  EXPECT_EQ(groups[1].count("Remote-MTA"), 0);
  EXPECT_EQ(groups[1].count("Diagnostic-Code"), 0);
  EXPECT_EQ(groups[1].count("Last-Attempt-Date"), 0);
}

TEST(DsnReport, OurOwnTextIsNotCalledAnSmtpReply) {
  RecipientReport recipient = failed_bob();
  recipient.remote_mta.clear();
  recipient.diagnostic = "The message expired after 2 days in the queue";
  recipient.status = "4.4.7";  // the caller's transient status; the report is final: 5.4.7
  const Report report = parse_report(compose_report(request_for({recipient})));
  ASSERT_EQ(report.parts.size(), 3u);
  const std::vector<Entity> groups = status_groups(report.parts[1].body);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[1].field("Diagnostic-Code"), "X-transportd; The message expired after 2 days in the queue");
  EXPECT_EQ(groups[1].field("Status"), "5.4.7");
  EXPECT_NE(flat(report.parts[0].body).find("the message expired before it could be delivered (5.4.7)"),
            std::string::npos);
  EXPECT_NE(flat(report.parts[0].body).find("in all the time it was kept"), std::string::npos);
}

TEST(DsnReport, MalformedStatusReplacedByTheActionsClass) {
  for (const char* bad : {"", "5.1", "6.1.1", "5.1.1 ", "5..1", "5.1234.1", "x.1.1", "5.1.1\nX: y"}) {
    RecipientReport recipient = failed_bob();
    recipient.status = bad;
    const Report report = parse_report(compose_report(request_for({recipient})));
    ASSERT_EQ(report.parts.size(), 3u);
    EXPECT_EQ(status_groups(report.parts[1].body).at(1).field("Status"), "5.0.0") << bad;
  }
}

TEST(DsnReport, DelayReport) {
  RecipientReport recipient = failed_bob();
  recipient.action = Action::delayed;
  recipient.status = "4.4.1";
  recipient.diagnostic = "451 4.4.1 Try again later";
  recipient.will_retry_until = kArrival + 2 * 86400;
  const std::string text = compose_report(request_for({recipient}));
  const Report report = parse_report(text);
  EXPECT_EQ(report.top.field("Subject"), "Delivery delayed: Quarterly figures");
  ASSERT_EQ(report.parts.size(), 3u);
  const std::vector<Entity> groups = status_groups(report.parts[1].body);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[1].field("Action"), "delayed");
  EXPECT_EQ(groups[1].field("Status"), "4.4.1");
  EXPECT_EQ(groups[1].field("Will-Retry-Until"), "Wed, 2 Dec 2026 00:55:07 +0000");
  const std::string human = flat(report.parts[0].body);
  EXPECT_NE(human.find("still trying"), std::string::npos);
  EXPECT_NE(human.find("Wed, 2 Dec 2026 00:55:07 +0000"), std::string::npos) << human;
  EXPECT_NE(human.find("do not need to send it again"), std::string::npos);
}

TEST(DsnReport, SuccessAndRelayed) {
  RecipientReport delivered = failed_bob();
  delivered.action = Action::delivered;
  delivered.status = "2.0.0";
  delivered.diagnostic = "250 2.0.0 Ok: queued";
  RecipientReport relayed = delivered;
  relayed.final_recipient = "dave@example.net";
  relayed.action = Action::relayed;
  const Report report = parse_report(compose_report(request_for({delivered, relayed})));
  EXPECT_EQ(report.top.field("Subject"), "Delivered: Quarterly figures");
  ASSERT_EQ(report.parts.size(), 3u);
  const std::vector<Entity> groups = status_groups(report.parts[1].body);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[1].field("Action"), "delivered");
  EXPECT_EQ(groups[2].field("Action"), "relayed");
  EXPECT_EQ(groups[2].field("Status"), "2.0.0");
  EXPECT_NE(flat(report.parts[0].body).find("delivered to"), std::string::npos);
  EXPECT_NE(flat(report.parts[0].body).find("does not send delivery reports"), std::string::npos);
}

TEST(DsnReport, HeadersOnlyByDefault) {
  const Report report = parse_report(compose_report(request_for({failed_bob()})));
  ASSERT_EQ(report.parts.size(), 3u);
  EXPECT_EQ(report.parts[2].field("Content-Type"), "text/rfc822-headers");
  const std::string expected_headers = kOriginal.substr(0, kOriginal.find("\n\n") + 1);
  EXPECT_EQ(report.parts[2].body, expected_headers);
  EXPECT_NE(flat(report.parts[0].body).find("The headers of your message are attached."), std::string::npos);
}

TEST(DsnReport, HeaderSectionEdges) {
  const auto returned = [](const std::string& original) {
    const Report report = parse_report(compose_report(request_for({failed_bob()}, original)));
    EXPECT_EQ(report.parts.size(), 3u);
    return report.parts.size() == 3 ? report.parts[2].body : std::string("(no part)");
  };
  EXPECT_EQ(returned(""), "");
  EXPECT_EQ(returned("\nbody only\n"), "");
  EXPECT_EQ(returned("Subject: no body\n"), "Subject: no body\n");
  EXPECT_EQ(returned("Subject: no line end"), "Subject: no line end\n");
  EXPECT_EQ(returned("Subject: crlf\r\nTo: b@c\r\n\r\nbody\r\n"), "Subject: crlf\r\nTo: b@c\r\n");
}

TEST(DsnReport, WholeMessageWithRetFull) {
  ReportRequest request = request_for({failed_bob()});
  request.return_full = true;
  const Report report = parse_report(compose_report(request));
  ASSERT_EQ(report.parts.size(), 3u);
  EXPECT_EQ(report.parts[2].field("Content-Type"), "message/rfc822");
  EXPECT_EQ(report.parts[2].count("Content-Transfer-Encoding"), 0);
  EXPECT_EQ(report.parts[2].body, kOriginal);
  EXPECT_NE(flat(report.parts[0].body).find("Your message is attached."), std::string::npos);
}

TEST(DsnReport, RetFullOnlyForFailures) {
  RecipientReport delayed = failed_bob();
  delayed.action = Action::delayed;
  delayed.status = "4.4.1";
  RecipientReport delivered = failed_bob();
  delivered.action = Action::delivered;
  delivered.status = "2.0.0";
  for (const auto& recipients : {std::vector{delayed}, std::vector{delivered}, std::vector{delayed, delivered}}) {
    ReportRequest request = request_for(recipients);
    request.return_full = true;
    const Report report = parse_report(compose_report(request));
    ASSERT_EQ(report.parts.size(), 3u);
    EXPECT_EQ(report.parts[2].field("Content-Type"), "text/rfc822-headers");
    EXPECT_NE(flat(report.parts[0].body).find("The headers of your message are attached."), std::string::npos);
  }
  ReportRequest mixed = request_for({delayed, failed_bob()});
  mixed.return_full = true;
  EXPECT_EQ(parse_report(compose_report(mixed)).parts.at(2).field("Content-Type"), "message/rfc822");
}

TEST(DsnReport, WholeMessageWithoutFinalLineEnd) {
  const std::string original = "Subject: x\n\nno line end";
  ReportRequest request = request_for({failed_bob()}, original);
  request.return_full = true;
  const Report report = parse_report(compose_report(request));
  ASSERT_EQ(report.parts.size(), 3u);
  EXPECT_TRUE(report.closed);
  EXPECT_EQ(report.parts[2].body, original + "\n");
}

TEST(DsnReport, EightBitOriginalNeedsEightBitMime) {
  const std::string original = "Subject: plain\n\nGr\xC3\xBC\xC3\x9F" "e\n";
  ReportRequest request = request_for({failed_bob()}, original);
  request.return_full = true;
  const std::string text = compose_report(request);
  const Report report = parse_report(text);
  ASSERT_EQ(report.parts.size(), 3u);
  EXPECT_EQ(report.parts[2].field("Content-Type"), "message/rfc822");
  EXPECT_EQ(report.parts[2].field("Content-Transfer-Encoding"), "8bit");
  EXPECT_EQ(report.parts[2].body, original);
  EXPECT_TRUE(needs_8bitmime(text));

  // Headers only: the body's 8-bit octets stay behind.
  request.return_full = false;
  EXPECT_FALSE(needs_8bitmime(compose_report(request)));
}

TEST(DsnReport, RetFullFallsBackToHeadersWhenTheMessageCannotTravelWhole) {
  const std::string long_line = "Subject: long\n\n" + std::string(2000, 'x') + "\n";
  const std::string with_nul = std::string("Subject: nul\n\na\0b\n", 18);
  const std::string big = "Subject: big\n\n" + std::string(1000, 'y') .substr(0, 10) + "\n";
  for (const std::string& original : {long_line, with_nul}) {
    ReportRequest request = request_for({failed_bob()}, original);
    request.return_full = true;
    const std::string text = compose_report(request);
    const Report report = parse_report(text);
    ASSERT_EQ(report.parts.size(), 3u);
    EXPECT_EQ(report.parts[2].field("Content-Type"), "text/rfc822-headers");
    EXPECT_NE(flat(report.parts[0].body).find("too large, or not in a form"), std::string::npos);
    EXPECT_LE(longest_line(text), 998u);
    EXPECT_EQ(text.find('\0'), std::string::npos);
  }
  ReportRequest request = request_for({failed_bob()}, big);
  request.return_full = true;
  request.full_message_limit = 10;
  EXPECT_EQ(parse_report(compose_report(request)).parts.at(2).field("Content-Type"), "text/rfc822-headers");
  request.full_message_limit = big.size();
  EXPECT_EQ(parse_report(compose_report(request)).parts.at(2).field("Content-Type"), "message/rfc822");
}

TEST(DsnReport, BoundaryNeverInTheOriginal) {
  // The first candidate is predictable from the seed; an original that holds it (and more) gets another.
  const std::string first = parse_report(compose_report(request_for({failed_bob()}))).boundary;
  ASSERT_FALSE(first.empty());
  std::string original = "Subject: trap\nX-Trap: " + first + "\n\n--" + first + "\n--" + first + "--\n";
  for (int i = 0; i < 5; ++i) original += "--" + first + "_" + std::to_string(i) + "\n";
  for (bool full : {false, true}) {
    ReportRequest request = request_for({failed_bob()}, original);
    request.return_full = full;
    const std::string text = compose_report(request);
    const Report report = parse_report(text);
    EXPECT_NE(report.boundary, first);
    EXPECT_EQ(original.find(report.boundary), std::string::npos);
    ASSERT_EQ(report.parts.size(), 3u) << text;
    EXPECT_TRUE(report.closed);
    EXPECT_EQ(report.parts[2].body, full ? original : original.substr(0, original.find("\n\n") + 1));
  }
  // Also when the trap is in a recipient's diagnostic (the text and status parts).
  RecipientReport recipient = failed_bob();
  recipient.diagnostic = "550 5.1.1 --" + first;
  const Report report = parse_report(compose_report(request_for({recipient})));
  EXPECT_NE(report.boundary, first);
  EXPECT_EQ(report.parts.size(), 3u);
}

TEST(DsnReport, DifferentSeedsGiveDifferentBoundaries) {
  ReportRequest a = request_for({failed_bob()});
  ReportRequest b = a;
  b.boundary_seed = "Q2.1";
  EXPECT_NE(parse_report(compose_report(a)).boundary, parse_report(compose_report(b)).boundary);
  // A hostile seed cannot break the header.
  b.boundary_seed = "\"\n; x=\"y";
  const Report report = parse_report(compose_report(b));
  EXPECT_EQ(report.parts.size(), 3u);
}

TEST(DsnReport, NoInjectedLinesFromUntrustedText) {
  RecipientReport recipient = failed_bob();
  recipient.final_recipient = "bob@example.net\nBcc: victim@example.org";
  recipient.original_recipient = "rfc822;x\r\nX-Injected: 1";
  recipient.remote_mta = "mx.example.net\nX-Injected: 2";
  recipient.diagnostic = "550 5.1.1 bad\r\n\r\n--boundary\nContent-Type: text/html\n";
  ReportRequest request = request_for({recipient});
  request.original_sender = "alice@example.org>\nBcc: victim@example.org";
  request.envid = "id\nX-Injected: 3";
  request.message_id = "id>\nX-Injected: 4";
  const std::string text = compose_report(request);
  EXPECT_EQ(parse_report(text).top.field("Message-ID"), "<idX-Injected:4>");
  for (std::string_view line : lines_of(text)) {
    EXPECT_FALSE(line.starts_with("Bcc:")) << line;
    EXPECT_FALSE(line.starts_with("X-Injected:")) << line;
    EXPECT_FALSE(line.starts_with("Content-Type: text/html")) << line;
  }
  EXPECT_EQ(parse_report(text).parts.size(), 3u);
}

TEST(DsnReport, MultiLineReplyJoined) {
  RecipientReport recipient = failed_bob();
  recipient.diagnostic =
      "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n"
      "550-5.1.1 double-checking the recipient's email address for typos or\r\n"
      "550 5.1.1 unnecessary spaces.";
  const Report report = parse_report(compose_report(request_for({recipient})));
  ASSERT_EQ(report.parts.size(), 3u);
  EXPECT_EQ(status_groups(report.parts[1].body).at(1).field("Diagnostic-Code"),
            "smtp; 550 5.1.1 The email account that you tried to reach does not exist. Please try "
            "double-checking the recipient's email address for typos or unnecessary spaces.");
}

TEST(DsnReport, NoLineOver998WhateverTheInput) {
  RecipientReport recipient = failed_bob();
  recipient.diagnostic = "550 " + std::string(5000, 'z') + " " + std::string(100000, 'w');
  recipient.final_recipient = std::string(3000, 'a') + "@example.net";
  recipient.remote_mta = std::string(3000, 'h');
  std::string original = "Subject: " + std::string(3000, 's') + "\nX-Long: " + std::string(5000, 'l') + "\n\nbody\n";
  ReportRequest request = request_for({recipient, recipient}, original);
  request.envid = std::string(3000, 'e');
  request.postmaster = std::string(2000, 'p') + "@example.com";
  const std::string text = compose_report(request);
  EXPECT_LE(longest_line(text), 998u);
  const Report report = parse_report(text);
  ASSERT_EQ(report.parts.size(), 3u);
  // The diagnostic is bounded, and it is still there, folded.
  const std::string diagnostic = status_groups(report.parts[1].body).at(1).field("Diagnostic-Code");
  EXPECT_TRUE(diagnostic.starts_with("smtp; 550 zzz")) << diagnostic.substr(0, 40);
  EXPECT_LT(diagnostic.size(), 2100u);
  EXPECT_LT(text.size(), 40000u);
}

TEST(DsnReport, LargeOriginalWithHeadersOnlyIsBounded) {
  // 1 MB message, RET=HDRS: the report carries only the headers.
  std::string original = kOriginal;
  while (original.size() < 1024 * 1024) original += std::string(76, 'b') + "\n";
  ReportRequest request = request_for({failed_bob()}, original);
  const std::string text = compose_report(request);
  EXPECT_LT(text.size(), 16u * 1024);
  EXPECT_EQ(parse_report(text).parts.at(2).body, kOriginal.substr(0, kOriginal.find("\n\n") + 1));

  // A 1 MB header section is cut at a field boundary within the bound.
  std::string huge_headers = "Subject: many fields\n";
  for (int i = 0; huge_headers.size() < 1024 * 1024; ++i) {
    huge_headers += "X-Field-" + std::to_string(i) + ": value\n folded " + std::string(40, 'v') + "\n";
  }
  const std::string huge = huge_headers + "\nbody\n";
  request = request_for({failed_bob()}, huge);
  const std::string cut_text = compose_report(request);
  EXPECT_LT(cut_text.size(), kMaxReturnedHeaders + 16 * 1024);
  const Report report = parse_report(cut_text);
  ASSERT_EQ(report.parts.size(), 3u);
  const std::string& returned = report.parts[2].body;
  EXPECT_LE(returned.size(), kMaxReturnedHeaders);
  EXPECT_GT(returned.size(), kMaxReturnedHeaders - 200);
  EXPECT_EQ(huge.compare(0, returned.size(), returned), 0);  // a prefix of the original
  EXPECT_TRUE(huge.substr(returned.size()).starts_with("X-Field-"));  // cut before a field
  EXPECT_EQ(report.top.field("Subject"), "Undeliverable: many fields");

  // One field of 1 MB on one line: cut too, and the line shortened to 998.
  const std::string one_field = "X-Huge: " + std::string(1024 * 1024, 'h') + "\n\nbody\n";
  const std::string one_text = compose_report(request_for({failed_bob()}, one_field));
  EXPECT_LE(longest_line(one_text), 998u);
  EXPECT_LT(one_text.size(), 16u * 1024);
}

TEST(DsnReport, SubjectKeptSevenBitSafe) {
  const auto subject_of = [](const std::string& original) {
    return parse_report(compose_report(request_for({failed_bob()}, original))).top.field("Subject");
  };
  EXPECT_EQ(subject_of("From: a@b\n\nbody\n"), "Undeliverable");
  EXPECT_EQ(subject_of("Subject:\n\nbody\n"), "Undeliverable");
  EXPECT_EQ(subject_of("subject:  lower\tcase  \n\nbody\n"), "Undeliverable: lower case");
  EXPECT_EQ(subject_of("Subject: =?UTF-8?Q?caf=C3=A9?=\n\n"), "Undeliverable: =?UTF-8?Q?caf=C3=A9?=");
  // UTF-8: encoded (RFC 2047); "Grüße" is R3LDvMOfZQ== in base64.
  EXPECT_EQ(subject_of("Subject: Gr\xC3\xBC\xC3\x9F" "e\n\n"), "Undeliverable: =?UTF-8?B?R3LDvMOfZQ==?=");
  // Not UTF-8: left out.
  EXPECT_EQ(subject_of("Subject: \xFF\xFE\n\n"), "Undeliverable");
  // Long UTF-8: several encoded-words, each at most 75 characters, split between characters.
  std::string long_utf8;
  for (int i = 0; i < 80; ++i) long_utf8 += "\xC3\xA9";
  const std::string subject = subject_of("Subject: " + long_utf8 + "\n\n");
  EXPECT_TRUE(subject.starts_with("Undeliverable: =?UTF-8?B?")) << subject;
  std::size_t words = 0;
  for (std::size_t at = subject.find("=?UTF-8?B?"); at != std::string::npos; at = subject.find("=?UTF-8?B?", at + 2)) {
    const std::size_t end = subject.find("?=", at + 10);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end + 2 - at, 75u);
    ++words;
  }
  EXPECT_GE(words, 3u);
  // A long ASCII subject is shortened.
  const std::string long_ascii = subject_of("Subject: " + std::string(500, 'q') + "\n\n");
  EXPECT_LT(long_ascii.size(), 300u);
  EXPECT_TRUE(long_ascii.ends_with("..."));
}

TEST(DsnReport, Utf8AddressesAsUtf8AddressType) {
  RecipientReport recipient = failed_bob();
  recipient.final_recipient = "j\xC3\xA9r\xC3\xB4me@example.net";
  recipient.original_recipient = "utf-8;J\xC3\xA9r\xC3\xB4me@example.net";
  const std::string text = compose_report(request_for({recipient}));
  const Report report = parse_report(text);
  ASSERT_EQ(report.parts.size(), 3u);
  const Entity group = status_groups(report.parts[1].body).at(1);
  EXPECT_EQ(group.field("Final-Recipient"), "utf-8;j\\x{E9}r\\x{F4}me@example.net");
  EXPECT_EQ(group.field("Original-Recipient"), "utf-8;J\\x{E9}r\\x{F4}me@example.net");
  // The person sees the address as it is written; that part says so.
  EXPECT_EQ(report.parts[0].field("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(report.parts[0].field("Content-Transfer-Encoding"), "8bit");
  EXPECT_TRUE(needs_8bitmime(text));
}

// Arbitrary octets wherever untrusted text enters (a fixed seed: the same inputs every run): the report
// keeps its three parts, its boundary stays out of them, and no line grows past 998 octets.
TEST(DsnReport, ArbitraryInputKeepsTheStructure) {
  std::mt19937 random(20261130);
  const auto noise = [&](std::size_t max_length) {
    std::string text(random() % (max_length + 1), '\0');
    for (char& c : text) {
      // Mostly the characters that matter to the structure: line ends, '-', ':', spaces, 8-bit.
      static constexpr std::string_view kInteresting = "\n\n\r-:; =?\t\x80\xC3\xA9\xFF\"<>";
      c = random() % 3 == 0 ? kInteresting[random() % kInteresting.size()] : static_cast<char>(random() % 256);
    }
    return text;
  };
  for (int round = 0; round < 300; ++round) {
    RecipientReport recipient;
    recipient.final_recipient = noise(60);
    recipient.original_recipient = noise(60);
    recipient.action = static_cast<Action>(random() % 4);
    recipient.status = noise(8);
    recipient.remote_mta = noise(40);
    recipient.diagnostic = noise(3000);
    recipient.last_attempt = static_cast<std::int64_t>(random() % 4000000000u);
    recipient.will_retry_until = static_cast<std::int64_t>(random() % 4000000000u);
    const std::string original = noise(4000);
    ReportRequest request = request_for({recipient, recipient}, original);
    request.envid = noise(120);
    request.original_sender = noise(80);
    request.return_full = random() % 2 == 0;
    request.boundary_seed = noise(20);
    const std::string text = compose_report(request);
    const Report report = parse_report(text);
    ASSERT_EQ(report.parts.size(), 3u) << "round " << round;
    EXPECT_TRUE(report.closed) << "round " << round;
    EXPECT_EQ(original.find(report.boundary), std::string::npos) << "round " << round;
    EXPECT_LE(longest_line(text), 998u) << "round " << round;
    EXPECT_FALSE(needs_8bitmime(report.parts[1].body)) << "round " << round;  // delivery-status is 7-bit
    const std::vector<Entity> groups = status_groups(report.parts[1].body);
    ASSERT_EQ(groups.size(), 3u) << "round " << round << "\n" << report.parts[1].body;
    EXPECT_EQ(groups[1].field("Action"), groups[2].field("Action"));
  }
}

TEST(DsnReportWanted, NeverForTheNullSender) {
  for (Action action : {Action::failed, Action::delayed, Action::delivered, Action::relayed}) {
    Notify all;
    all.given = all.success = all.failure = all.delay = true;
    EXPECT_FALSE(report_wanted("", all, action));
    EXPECT_FALSE(report_wanted("<>", all, action));
    EXPECT_TRUE(report_wanted("alice@example.org", all, action));
  }
}

TEST(DsnReportWanted, NotifyCombinations) {
  const Notify by_default;
  EXPECT_TRUE(report_wanted("a@b", by_default, Action::failed));
  EXPECT_TRUE(report_wanted("a@b", by_default, Action::delayed));
  EXPECT_FALSE(report_wanted("a@b", by_default, Action::delivered));
  EXPECT_FALSE(report_wanted("a@b", by_default, Action::relayed));

  const Notify never = *parse_notify("NEVER");
  for (Action action : {Action::failed, Action::delayed, Action::delivered, Action::relayed}) {
    EXPECT_FALSE(report_wanted("a@b", never, action));
  }
  const Notify success = *parse_notify("SUCCESS");
  EXPECT_FALSE(report_wanted("a@b", success, Action::failed));
  EXPECT_FALSE(report_wanted("a@b", success, Action::delayed));
  EXPECT_TRUE(report_wanted("a@b", success, Action::delivered));
  EXPECT_TRUE(report_wanted("a@b", success, Action::relayed));

  const Notify failure = *parse_notify("FAILURE");
  EXPECT_TRUE(report_wanted("a@b", failure, Action::failed));
  EXPECT_FALSE(report_wanted("a@b", failure, Action::delayed));
  EXPECT_FALSE(report_wanted("a@b", failure, Action::delivered));

  const Notify delay = *parse_notify("DELAY");
  EXPECT_FALSE(report_wanted("a@b", delay, Action::failed));
  EXPECT_TRUE(report_wanted("a@b", delay, Action::delayed));
}

TEST(DsnStatusOfReply, EnhancedCodeOrTheReplyClass) {
  EXPECT_EQ(status_of_reply(550, "550 5.1.1 No such user"), "5.1.1");
  EXPECT_EQ(status_of_reply(550, "5.1.1 No such user"), "5.1.1");
  EXPECT_EQ(status_of_reply(552, "552-5.2.2 Mailbox full"), "5.2.2");
  EXPECT_EQ(status_of_reply(451, "4.7.1 Greylisted"), "4.7.1");
  EXPECT_EQ(status_of_reply(250, "2.0.0 Ok"), "2.0.0");
  EXPECT_EQ(status_of_reply(550, "No such user"), "5.0.0");
  EXPECT_EQ(status_of_reply(421, "Service not available"), "4.0.0");
  EXPECT_EQ(status_of_reply(250, "Ok"), "2.0.0");
  EXPECT_EQ(status_of_reply(554, ""), "5.0.0");
  EXPECT_EQ(status_of_reply(550, "5.1.1"), "5.1.1");
  // The reply's class wins over a disagreeing enhanced code.
  EXPECT_EQ(status_of_reply(550, "4.2.2 Mailbox full"), "5.2.2");
  EXPECT_EQ(status_of_reply(450, "5.1.1 No such user"), "4.1.1");
  // Malformed enhanced codes are ignored.
  for (const char* bad : {"5.1 x", "5.1.1234 x", "5.1.1x", "6.1.1 x", "5..1 x", "5.1.", "a.b.c"}) {
    EXPECT_EQ(status_of_reply(550, bad), "5.0.0") << bad;
  }
  // Not a 2xx, 4xx or 5xx reply: permanent.
  EXPECT_EQ(status_of_reply(354, "go ahead"), "5.0.0");
  EXPECT_EQ(status_of_reply(0, ""), "5.0.0");
}

TEST(DsnDate, KnownDates) {
  EXPECT_EQ(rfc5322_date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(rfc5322_date(kArrival), "Mon, 30 Nov 2026 00:55:07 +0000");
  EXPECT_EQ(rfc5322_date(951782400), "Tue, 29 Feb 2000 00:00:00 +0000");
  EXPECT_EQ(rfc5322_date(4102444800), "Fri, 1 Jan 2100 00:00:00 +0000");
}

}  // namespace
}  // namespace transport::dsn
