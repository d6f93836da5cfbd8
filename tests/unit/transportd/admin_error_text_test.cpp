// readable_error: long quoted input is shortened so the reason fits in a gRPC status; short text is untouched.
#include "transportd/admin/error_text.h"

#include <gtest/gtest.h>

#include <string>

namespace transport::admin {
namespace {

TEST(AdminErrorText, ShortMessagesAreUntouched) {
  const std::string message = "\"5\" is not a valid TimeSpan: write hh:mm:ss, e.g. 00:00:05";
  EXPECT_EQ(readable_error(message), message);
  EXPECT_EQ(readable_error("no quote at all"), "no quote at all");
  EXPECT_EQ(readable_error("an \"unclosed quote"), "an \"unclosed quote");
  EXPECT_EQ(readable_error(""), "");
}

TEST(AdminErrorText, ALongQuoteKeepsItsStartAndSaysHowLongItWas) {
  const std::string value(8000, 'x');
  const std::string shortened = readable_error("TarpitInterval: \"" + value + "\" is not a valid TimeSpan: write hh:mm:ss");
  EXPECT_EQ(shortened, "TarpitInterval: \"" + std::string(60, 'x') +
                           "\xE2\x80\xA6\" (8000 characters) is not a valid TimeSpan: write hh:mm:ss");
}

TEST(AdminErrorText, EveryLongQuoteIsShortenedAndUtf8IsNotCutInHalf) {
  std::string value = std::string(59, 'a') + "\xC3\xA9" + std::string(200, 'b');  // é straddles byte 60
  const std::string shortened = readable_error("\"" + value + "\" and \"" + value + "\" clash");
  EXPECT_EQ(shortened, "\"" + std::string(59, 'a') + "\xE2\x80\xA6\" (260 characters) and \"" + std::string(59, 'a') +
                           "\xE2\x80\xA6\" (260 characters) clash");
}

TEST(AdminErrorText, AnUnquotedHugeMessageIsCut) {
  const std::string shortened = readable_error(std::string(100000, 'y'));
  EXPECT_LT(shortened.size(), 2100u);
  EXPECT_NE(shortened.find("(message shortened)"), std::string::npos);
}

}  // namespace
}  // namespace transport::admin
