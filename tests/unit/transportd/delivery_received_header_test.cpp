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

}  // namespace
}  // namespace transport::delivery
