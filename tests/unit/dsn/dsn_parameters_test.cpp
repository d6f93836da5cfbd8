// The DSN parameters (RFC 3461): the RFC's own examples, round trips, and hostile values.
#include <gtest/gtest.h>

#include <string>

#include "transportd/dsn/dsn_parameters.h"

namespace transport::dsn {
namespace {

TEST(DsnNotify, DefaultIsFailureAndDelayNotGiven) {
  const Notify notify;
  EXPECT_FALSE(notify.given);
  EXPECT_FALSE(notify.never);
  EXPECT_FALSE(notify.success);
  EXPECT_TRUE(notify.failure);
  EXPECT_TRUE(notify.delay);
  EXPECT_EQ(notify.to_string(), "FAILURE,DELAY");
}

TEST(DsnNotify, NeverAlone) {
  const auto notify = parse_notify("NEVER");
  ASSERT_TRUE(notify);
  EXPECT_TRUE(notify->given);
  EXPECT_TRUE(notify->never);
  EXPECT_FALSE(notify->success || notify->failure || notify->delay);
  EXPECT_EQ(notify->to_string(), "NEVER");
  EXPECT_TRUE(parse_notify("never"));
}

TEST(DsnNotify, ListSetsExactlyWhatIsNamed) {
  const auto notify = parse_notify("SUCCESS");
  ASSERT_TRUE(notify);
  EXPECT_TRUE(notify->success);
  EXPECT_FALSE(notify->failure);
  EXPECT_FALSE(notify->delay);
  EXPECT_FALSE(notify->never);
  EXPECT_EQ(notify->to_string(), "SUCCESS");

  const auto all = parse_notify("delay,Success,FAILURE");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->success && all->failure && all->delay);
  EXPECT_EQ(all->to_string(), "SUCCESS,FAILURE,DELAY");  // one canonical order

  const auto two = parse_notify("SUCCESS,FAILURE");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->to_string(), "SUCCESS,FAILURE");
}

TEST(DsnNotify, RoundTripsEveryCombination) {
  for (int mask = 1; mask < 8; ++mask) {
    Notify notify;
    notify.given = true;
    notify.success = (mask & 1) != 0;
    notify.failure = (mask & 2) != 0;
    notify.delay = (mask & 4) != 0;
    const auto parsed = parse_notify(notify.to_string());
    ASSERT_TRUE(parsed) << notify.to_string();
    EXPECT_EQ(*parsed, notify) << notify.to_string();
  }
}

TEST(DsnNotify, RefusesMalformedLists) {
  for (const char* bad : {"", ",", "SUCCESS,", ",SUCCESS", "SUCCESS,,FAILURE", "NEVER,SUCCESS",
                          "SUCCESS,NEVER", "NEVER,NEVER", "SUCCESS,SUCCESS", "failure,FAILURE",
                          "SUCCESS, FAILURE", " SUCCESS", "SUCCES", "SUCCESSFAILURE", "ALWAYS",
                          "SUCCESS;FAILURE"}) {
    EXPECT_FALSE(parse_notify(bad)) << '"' << bad << '"';
  }
  EXPECT_FALSE(parse_notify(std::string_view("SUCCESS\0", 8)));
  EXPECT_FALSE(parse_notify(std::string(100000, ',')));
}

TEST(DsnRet, FullOrHeaders) {
  EXPECT_EQ(parse_ret("FULL"), Return::full);
  EXPECT_EQ(parse_ret("hdrs"), Return::headers);
  EXPECT_EQ(parse_ret("Hdrs"), Return::headers);
  for (const char* bad : {"", "HEADERS", "FULL ", "NONE", "FULL,HDRS"}) EXPECT_FALSE(parse_ret(bad)) << bad;
}

TEST(DsnXtext, EncodesPlusEqualsAndNonGraphic) {
  EXPECT_EQ(xtext_encode("user@example.com"), "user@example.com");
  EXPECT_EQ(xtext_encode("a+b=c"), "a+2Bb+3Dc");
  EXPECT_EQ(xtext_encode("a b"), "a+20b");
  EXPECT_EQ(xtext_encode(std::string("\x00\x7f\xff", 3)), "+00+7F+FF");
  EXPECT_EQ(xtext_encode(""), "");
}

TEST(DsnXtext, DecodesBothHexCasesAndRoundTrips) {
  EXPECT_EQ(xtext_decode("a+2Bb+3Dc"), "a+b=c");
  EXPECT_EQ(xtext_decode("a+2bb+3dc"), "a+b=c");
  EXPECT_EQ(xtext_decode("a=b"), "a=b");  // outside xchar, but unambiguous: accepted as Postfix does
  EXPECT_EQ(xtext_decode(""), "");
  std::string every_octet;
  for (int i = 0; i < 256; ++i) every_octet += static_cast<char>(i);
  EXPECT_EQ(xtext_decode(xtext_encode(every_octet)), every_octet);
}

TEST(DsnXtext, RefusesMalformedEscapesAndRawOctets) {
  for (const char* bad : {"+", "a+", "a+2", "+2G", "+G2", "+ 20", "++20", "a b", "\t", "\x7f", "\xc3\xa9"}) {
    EXPECT_FALSE(xtext_decode(bad)) << '"' << bad << '"';
  }
  EXPECT_FALSE(xtext_decode(std::string_view("a\0b", 3)));
}

TEST(DsnEnvid, RfcExampleAndBounds) {
  // RFC 3461 §6 example: ENVID=QQ314159.
  EXPECT_EQ(parse_envid("QQ314159"), "QQ314159");
  EXPECT_EQ(parse_envid("id+20with+20spaces"), "id with spaces");
  EXPECT_EQ(parse_envid(std::string(100, 'x')), std::string(100, 'x'));
  EXPECT_FALSE(parse_envid(std::string(101, 'x')));
  // 100 octets decoded even though 300 characters encoded.
  std::string encoded;
  for (int i = 0; i < 100; ++i) encoded += "+2B";
  EXPECT_EQ(parse_envid(encoded), std::string(100, '+'));
  EXPECT_FALSE(parse_envid(""));
  EXPECT_FALSE(parse_envid("a+0Db"));   // CR: not printable
  EXPECT_FALSE(parse_envid("a+00b"));   // NUL
  EXPECT_FALSE(parse_envid("a+C3+A9"));  // 8-bit
  EXPECT_FALSE(parse_envid("a+zz"));
}

TEST(DsnOrcpt, RfcExamples) {
  // RFC 3461 §6.1 and §4.2.
  EXPECT_EQ(parse_orcpt("rfc822;Bob@Big-Box.Example.COM"), "rfc822;Bob@Big-Box.Example.COM");
  EXPECT_EQ(parse_orcpt("RFC822;joe+2Bsmith@example.com"), "rfc822;joe+smith@example.com");
  EXPECT_EQ(parse_orcpt("rfc822;\"a+20b\"@example.com"), "rfc822;\"a b\"@example.com");
  // Another registered type (an atom) is kept, lower-cased.
  EXPECT_EQ(parse_orcpt("X400;/G=Bob/S=Smith/"), "x400;/G=Bob/S=Smith/");
}

// A UTF-8 address under rfc822, as Postfix sends it with SMTPUTF8: xtext of its octets, or raw; kept
// when it is well-formed UTF-8, and passed on as xtext.
TEST(DsnOrcpt, Utf8UnderRfc822AsRealMtasSendIt) {
  EXPECT_EQ(parse_orcpt("rfc822;j+C3+B6rg@example.com"), "rfc822;j\xc3\xb6rg@example.com");
  EXPECT_EQ(parse_orcpt("rfc822;j\xc3\xb6rg@example.com"), "rfc822;j\xc3\xb6rg@example.com");
  EXPECT_EQ(orcpt_parameter("rfc822;j\xc3\xb6rg@example.com"), "rfc822;j+C3+B6rg@example.com");
}

TEST(DsnOrcpt, RefusesMalformed) {
  for (const char* bad : {"", "user@example.com", ";user@example.com", "rfc822;", "rfc 822;a@b",
                          "rfc822;a+2", "rfc822;a b@c", "rfc822;a+0Db@c", "rfc822;a+C3@c",
                          "(rfc822);a@b", "rfc822;a+00@b"}) {
    EXPECT_FALSE(parse_orcpt(bad)) << '"' << bad << '"';
  }
  EXPECT_FALSE(parse_orcpt("rfc822;" + std::string(494, 'a')));  // 501 characters
  EXPECT_TRUE(parse_orcpt("rfc822;" + std::string(493, 'a')));   // 500
}

TEST(DsnOrcpt, Utf8AddressType) {
  // RFC 6533: utf-8-addr-xtext with \x{HEX}, raw UTF-8 (unitext), and xtext escapes accepted.
  EXPECT_EQ(parse_orcpt("utf-8;j\\x{E9}r\\x{F4}me@example.com"), "utf-8;j\xC3\xA9r\xC3\xB4me@example.com");
  EXPECT_EQ(parse_orcpt("UTF-8;j\xC3\xA9r\xC3\xB4me@example.com"), "utf-8;j\xC3\xA9r\xC3\xB4me@example.com");
  EXPECT_EQ(parse_orcpt("utf-8;a+2Bb@example.com"), "utf-8;a+b@example.com");
  EXPECT_EQ(parse_orcpt("utf-8;\\x{1F600}@example.com"), "utf-8;\xF0\x9F\x98\x80@example.com");
  for (const char* bad : {"utf-8;\\x{D800}@e", "utf-8;\\x{110000}@e", "utf-8;\\x{}@e", "utf-8;\\x{0}@e",
                          "utf-8;\\x{1234567}@e", "utf-8;\\xE9@e", "utf-8;\\x{E9@e", "utf-8;\\x{GG}@e",
                          "utf-8;\xC3@e", "utf-8;\xC0\xAF@e", "utf-8;a b@e", "utf-8;\\"}) {
    EXPECT_FALSE(parse_orcpt(bad)) << '"' << bad << '"';
  }
}

TEST(DsnOrcpt, ParameterRoundTrips) {
  EXPECT_EQ(orcpt_parameter("rfc822;joe+smith@example.com"), "rfc822;joe+2Bsmith@example.com");
  EXPECT_EQ(orcpt_parameter("rfc822;a=b@example.com"), "rfc822;a+3Db@example.com");
  EXPECT_EQ(orcpt_parameter("utf-8;j\xC3\xA9r\xC3\xB4me@example.com"), "utf-8;j\\x{E9}r\\x{F4}me@example.com");
  EXPECT_EQ(orcpt_parameter("utf-8;a+b\\c@e"), "utf-8;a\\x{2B}b\\x{5C}c@e");
  for (const char* decoded : {"rfc822;joe+smith@example.com", "rfc822;\"a b\"@example.com", "x400;/G=Bob/",
                              "utf-8;j\xC3\xA9r\xC3\xB4me@example.com", "utf-8;a+b=c\\d@e",
                              "utf-8;\xF0\x9F\x98\x80@example.com"}) {
    const std::string parameter = orcpt_parameter(decoded);
    for (char c : parameter) {
      EXPECT_TRUE(c >= 33 && c <= 126) << parameter;
    }
    EXPECT_EQ(parse_orcpt(parameter), decoded) << parameter;
  }
}

}  // namespace
}  // namespace transport::dsn
