// TimeSpan (DESIGN §3): accepted [d.]h:mm:ss forms, canonical output, and every refusal with its hint.
#include "store/time_span.h"

#include <gtest/gtest.h>

#include "store/value_error.h"

namespace transport::store {
namespace {

struct Valid {
  const char* text;
  std::int64_t seconds;
  const char* canonical;
};

TEST(TimeSpan, ParsesValidFormsAndShowsThemCanonically) {
  const Valid cases[] = {
      {"00:00:05", 5, "00:00:05"},
      {"0:0:5", 5, "00:00:05"},
      {"00:00:00", 0, "00:00:00"},
      {"00:10:00", 600, "00:10:00"},
      {"23:59:59", 86399, "23:59:59"},
      {"0.00:09:00", 540, "00:09:00"},
      {"1.00:00:00", 86400, "1.00:00:00"},
      {"1.0:0:0", 86400, "1.00:00:00"},
      {"00.5:00:00", 5 * 3600, "05:00:00"},
      {"001.00:00:00", 86400, "1.00:00:00"},
      {"2.03:04:05", 2 * 86400 + 3 * 3600 + 4 * 60 + 5, "2.03:04:05"},
      {"999.23:59:59", 999LL * 86400 + 86399, "999.23:59:59"},
      {"  00:00:05 ", 5, "00:00:05"},
  };
  for (const Valid& c : cases) {
    SCOPED_TRACE(c.text);
    TimeSpan span = TimeSpan::parse(c.text);
    EXPECT_EQ(span.seconds(), c.seconds);
    EXPECT_EQ(span.to_string(), c.canonical);
    EXPECT_EQ(TimeSpan::parse(span.to_string()), span);
  }
}

TEST(TimeSpan, FormatsFromSeconds) {
  EXPECT_EQ(TimeSpan::from_seconds(0).to_string(), "00:00:00");
  EXPECT_EQ(TimeSpan::from_seconds(5).to_string(), "00:00:05");
  EXPECT_EQ(TimeSpan::from_seconds(86399).to_string(), "23:59:59");
  EXPECT_EQ(TimeSpan::from_seconds(86400).to_string(), "1.00:00:00");
  EXPECT_EQ(TimeSpan::from_seconds(90061).to_string(), "1.01:01:01");
}

struct Invalid {
  const char* text;
  const char* fragment;  // a part of the message that tells the administrator what to write
};

TEST(TimeSpan, RefusesWithTheRightFormInTheMessage) {
  const Invalid cases[] = {
      {"5", "did you mean 00:00:05?"},
      {"300", "did you mean 00:05:00?"},
      {"90000", "did you mean 1.01:00:00?"},
      {"00:05", "hh:mm alone is ambiguous; write 00:05:00 if you meant hh:mm, or 00:00:05 if you meant mm:ss"},
      {"1.00:05", "hh:mm alone is ambiguous"},
      {"00:00:01.5", "fractions of a second are not allowed; write [d.]hh:mm:ss"},
      {"-00:00:01", "negative spans are not allowed"},
      {"-5", "negative spans are not allowed"},
      {"+00:00:01", "no sign"},
      {"24:00:00", "hours must be 0-23"},
      {"00:60:00", "minutes must be 0-59"},
      {"00:00:60", "seconds must be 0-59"},
      {"1000.00:00:00", "days must have 1-3 digits"},
      {"000:00:05", "1-2 digits"},
      {"00:000:05", "1-2 digits"},
      {"00:00:005", "1-2 digits"},
      {"00::05", "1-2 digits"},
      {"00:00:", "1-2 digits"},
      {".00:00:05", "days must have 1-3 digits"},
      {"1:00:00:00", "write days with a dot, as in 1.00:00:00"},
      {"1.2.03:00:00", "only the days may be followed by a dot"},
      {"00:05.5:00", "only the days may be followed by a dot"},
      {"", "it is empty"},
      {"   ", "it is empty"},
      {"5s", "unexpected character 's'"},
      {"1.5", "write [d.]hh:mm:ss"},
  };
  for (const Invalid& c : cases) {
    SCOPED_TRACE(c.text);
    try {
      TimeSpan::parse(c.text);
      ADD_FAILURE() << "accepted";
    } catch (const ValueError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(c.fragment), std::string::npos) << message;
      EXPECT_EQ(message.rfind('"', 0), 0u) << message;
      EXPECT_NE(message.find("is not a valid TimeSpan"), std::string::npos) << message;
    }
  }
}

TEST(TimeSpan, MessageQuotesTheInputAndNamesNoProperty) {
  try {
    TimeSpan::parse("5");
    FAIL() << "accepted";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "\"5\" is not a valid TimeSpan: did you mean 00:00:05? Write [d.]hh:mm:ss");
  }
}

TEST(TimeSpan, OrdersBySeconds) {
  EXPECT_LT(TimeSpan::parse("00:00:59"), TimeSpan::parse("00:01:00"));
  EXPECT_LT(TimeSpan::parse("23:59:59"), TimeSpan::parse("1.00:00:00"));
  EXPECT_EQ(TimeSpan::parse("0.00:09:00"), TimeSpan::parse("00:09:00"));
}

}  // namespace
}  // namespace transport::store
