// Received: header: exact folding and date, the optional "for" clause, and HELO sanitizing.
#include "transportd/delivery/received_header.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace transport::delivery {
namespace {

using namespace std::chrono_literals;

ReceivedInfo sample() {
  ReceivedInfo info;
  info.helo_name = "client.example.org";
  info.client_ip = "192.0.2.7";
  info.server_fqdn = "mail01.contoso.com";
  info.connector_name = "Default MAIL01";
  info.protocol = "ESMTP";
  info.queue_id = "08DE5A1B2C3D4E5F";
  info.recipient = "alice@contoso.com";
  // Monday 2 March 2026, 08:47:05 UTC.
  info.when = std::chrono::sys_days{std::chrono::year{2026} / 3 / 2} + 8h + 47min + 5s;
  return info;
}

TEST(ReceivedHeader, FoldedWithRecipient) {
  EXPECT_EQ(received_header(sample()),
            "Received: from client.example.org ([192.0.2.7])\r\n"
            "\tby mail01.contoso.com (transportd, connector Default MAIL01) with ESMTP id 08DE5A1B2C3D4E5F\r\n"
            "\tfor alice@contoso.com; Mon, 2 Mar 2026 08:47:05 +0000\r\n");
}

TEST(ReceivedHeader, WithoutRecipientTheDateHasItsOwnLine) {
  ReceivedInfo info = sample();
  info.recipient.clear();
  info.protocol = "SMTP";
  EXPECT_EQ(received_header(info),
            "Received: from client.example.org ([192.0.2.7])\r\n"
            "\tby mail01.contoso.com (transportd, connector Default MAIL01) with SMTP id 08DE5A1B2C3D4E5F;\r\n"
            "\tMon, 2 Mar 2026 08:47:05 +0000\r\n");
}

TEST(ReceivedHeader, DateIsUtcWithTwoDigitTimeFields) {
  ReceivedInfo info = sample();
  info.when = std::chrono::sys_days{std::chrono::year{1999} / 12 / 31} + 23h + 5min + 9s + 999ms;
  const std::string header = received_header(info);
  EXPECT_NE(header.find("; Fri, 31 Dec 1999 23:05:09 +0000\r\n"), std::string::npos) << header;
}

TEST(ReceivedHeader, HeloCannotInjectHeaderLines) {
  ReceivedInfo info = sample();
  info.helo_name = "evil\r\nX-Injected: yes\n\x01\x7f";
  const std::string header = received_header(info);
  EXPECT_EQ(header.substr(0, header.find("\r\n")), "Received: from evilX-Injected: yes ([192.0.2.7])");
  // Exactly three lines, each ending in CRLF, no bare CR or LF, continuation lines start with a tab.
  std::size_t lines = 0;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == '\r') {
      ASSERT_LT(i + 1, header.size());
      EXPECT_EQ(header[i + 1], '\n');
    }
    if (header[i] == '\n') {
      EXPECT_EQ(header[i - 1], '\r');
      ++lines;
      if (i + 1 < header.size()) {
        EXPECT_EQ(header[i + 1], '\t');
      }
    }
  }
  EXPECT_EQ(lines, 3u);
  EXPECT_EQ(header.find("\nX-Injected"), std::string::npos);
}

TEST(ReceivedHeader, HeloIsCappedAt255Characters) {
  ReceivedInfo info = sample();
  info.helo_name = std::string(1000, 'h');
  const std::string header = received_header(info);
  EXPECT_EQ(header.substr(0, header.find(" ([")), "Received: from " + std::string(255, 'h'));
}

TEST(ReceivedHeader, EmptyHeloIsShownAsUnknown) {
  ReceivedInfo info = sample();
  info.helo_name = "\r\n";
  EXPECT_EQ(received_header(info).rfind("Received: from unknown ([192.0.2.7])\r\n", 0), 0u);
}

TEST(ReceivedHeader, Ipv6ClientIsAnAddressLiteral) {
  ReceivedInfo info = sample();
  info.client_ip = "2001:db8::7";
  EXPECT_EQ(received_header(info).rfind("Received: from client.example.org ([IPv6:2001:db8::7])\r\n", 0), 0u);
}

TEST(ReceivedHeader, ProtocolNamesFollowRfc3848AndRfc6531) {
  struct Case {
    ReceivedVia via;
    std::string_view name;
  };
  const Case cases[] = {
      {{.extended = false}, "SMTP"},
      // HELO has no extensions: facts that need EHLO do not change the name.
      {{.extended = false, .tls = true, .authenticated = true, .smtputf8 = true}, "SMTP"},
      {{.extended = true}, "ESMTP"},
      {{.extended = true, .tls = true}, "ESMTPS"},
      {{.extended = true, .authenticated = true}, "ESMTPA"},
      {{.extended = true, .tls = true, .authenticated = true}, "ESMTPSA"},
      {{.extended = true, .smtputf8 = true}, "UTF8SMTP"},
      {{.extended = true, .tls = true, .smtputf8 = true}, "UTF8SMTPS"},
      {{.extended = true, .authenticated = true, .smtputf8 = true}, "UTF8SMTPA"},
      {{.extended = true, .tls = true, .authenticated = true, .smtputf8 = true}, "UTF8SMTPSA"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.name));
    EXPECT_EQ(received_protocol(c.via), c.name);
  }
}

TEST(ReturnPathHeader, EnvelopeSenderInBracketsAndTheNullSender) {
  EXPECT_EQ(return_path_header("alice@example.org"), "Return-Path: <alice@example.org>\r\n");
  EXPECT_EQ(return_path_header(""), "Return-Path: <>\r\n");
  EXPECT_EQ(return_path_header("\"odd\\ one\"@example.org"), "Return-Path: <\"odd\\ one\"@example.org>\r\n");
  EXPECT_EQ(return_path_header("\xC3\xBC@example.org"), "Return-Path: <\xC3\xBC@example.org>\r\n");
  EXPECT_EQ(return_path_header("a\r\nX-Injected: 1@example.org"), "Return-Path: <aX-Injected: 1@example.org>\r\n");
}

}  // namespace
}  // namespace transport::delivery
