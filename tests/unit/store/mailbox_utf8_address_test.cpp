// Mailbox addresses with UTF-8 local parts (RFC 6531): what the admin API stores, so that SMTPUTF8
// mail finds its mailbox.
#include <gtest/gtest.h>

#include <string>

#include "store/mailbox.h"
#include "store/value_error.h"

namespace transport::store {
namespace {

TEST(MailboxUtf8Address, LocalPartMayHoldUtf8) {
  // Stored as written, domain lower-cased: the SMTP side matches ASCII letters in any case and every
  // other character exactly.
  EXPECT_EQ(normalize_address("J\xc3\xb6rg@Example.COM"), "J\xc3\xb6rg@example.com");
  EXPECT_EQ(normalize_address("\xe7\x94\xa8\xe6\x88\xb7.x@example.com"), "\xe7\x94\xa8\xe6\x88\xb7.x@example.com");
  EXPECT_EQ(address_key("J\xc3\xb6RG@Example.com"), "j\xc3\xb6rg@example.com");
  EXPECT_NE(address_key("J\xc3\x96rg@example.com"), address_key("J\xc3\xb6rg@example.com"));  // Ö stays Ö
}

TEST(MailboxUtf8Address, MalformedUtf8AndAsciiRulesStillRefused) {
  for (const char* address : {"caf\xe9@example.com",           // Latin-1
                              "caf\xc3@example.com",           // truncated sequence
                              "\xc0\xaf@example.com",          // overlong '/'
                              "\xed\xa0\x80@example.com",      // surrogate
                              "caf\xc3\xa9..x@example.com",    // two dots
                              "a@\xc3\xa4xample.com"}) {       // domains stay ASCII (A-labels)
    EXPECT_THROW(normalize_address(address), ValueError) << address;
  }
  // 64 octets, not characters.
  std::string local;
  for (int i = 0; i < 32; ++i) local += "\xc3\xa9";
  EXPECT_NO_THROW(normalize_address(local + "@example.com"));
  EXPECT_THROW(normalize_address(local + "x@example.com"), ValueError);
}

TEST(MailboxUtf8Address, DotStringAsciiUnlessAsked) {
  EXPECT_FALSE(is_dot_string("caf\xc3\xa9"));
  EXPECT_TRUE(is_dot_string("caf\xc3\xa9", true));
  EXPECT_FALSE(is_dot_string("caf\xe9", true));
  EXPECT_TRUE(is_dot_string("a.b", true));
  EXPECT_FALSE(is_dot_string(".a", true));
}

}  // namespace
}  // namespace transport::store
