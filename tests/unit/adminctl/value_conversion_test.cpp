// adminctl unit tests: flag text -> proto values (bools, int32, lists) and their usage errors.
#include <gtest/gtest.h>

#include "adminctl/text.h"
#include "adminctl/usage_error.h"
#include "adminctl/value_conversion.h"
#include "transport_admin.pb.h"

namespace adminctl {
namespace {

namespace v1 = transport::admin::v1;

std::string usage_error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const UsageError& error) {
    return error.what();
  }
  return "(no error)";
}

const google::protobuf::FieldDescriptor& connector_field(const char* name) {
  return *v1::ReceiveConnector::descriptor()->FindFieldByName(name);
}

TEST(ParseBool, AcceptsExchangeAndShellSpellings) {
  for (const char* yes : {"true", "TRUE", "True", "$true", "$TRUE", "yes", "Yes", "1", " true "}) {
    EXPECT_TRUE(parse_bool(yes, "Enabled")) << yes;
  }
  for (const char* no : {"false", "FALSE", "$false", "$False", "no", "NO", "0"}) {
    EXPECT_FALSE(parse_bool(no, "Enabled")) << no;
  }
}

TEST(ParseBool, RejectsAnythingElseNamingTheProperty) {
  for (const char* bad : {"", "perhaps", "2", "t", "on", "$truee"}) {
    EXPECT_THROW(parse_bool(bad, "Enabled"), UsageError) << bad;
  }
  EXPECT_EQ(usage_error_of([] { parse_bool("perhaps", "RequireTLS"); }),
            "RequireTLS 'perhaps' is not valid; allowed: true or false");
}

TEST(ParseInt32, DecimalInRange) {
  EXPECT_EQ(parse_int32("200", "X", ""), 200);
  EXPECT_EQ(parse_int32("0", "X", ""), 0);
  EXPECT_EQ(parse_int32("-5", "X", ""), -5);
  EXPECT_EQ(parse_int32("+7", "X", ""), 7);
  EXPECT_EQ(parse_int32(" 42 ", "X", ""), 42);
  EXPECT_EQ(parse_int32("2147483647", "X", ""), 2147483647);
  EXPECT_EQ(parse_int32("-2147483648", "X", ""), -2147483647 - 1);
}

TEST(ParseInt32, RejectsNonNumbersNamingPropertyAndAllowed) {
  for (const char* bad : {"", "abc", "12abc", "1.5", "0x10", "1e3", "+", "--1", "99999999999x"}) {
    EXPECT_THROW(parse_int32(bad, "MaxRecipientsPerMessage", "1 to 512000"), UsageError) << bad;
  }
  EXPECT_EQ(usage_error_of([] { parse_int32("many", "MaxRecipientsPerMessage", "1 to 512000"); }),
            "MaxRecipientsPerMessage 'many' is not valid: expected a whole number; allowed: 1 to 512000");
}

// A whole number is never a mistake of type, whatever its size: too large for int32 is out of range,
// like 0 for a 1-to-512000 property (which the daemon refuses), and gets the same exit code.
TEST(ParseInt32, AWholeNumberTooLargeIsOutOfRangeNamingTheRange) {
  for (const char* big : {"2147483648", "-2147483649", "99999999999", "99999999999999999999999999", "+99999999999",
                          "-99999999999999999999999"}) {
    EXPECT_THROW(parse_int32(big, "MaxRecipientsPerMessage", "1 to 512000"), OutOfRange) << big;
  }
  try {
    parse_int32(" 99999999999 ", "ResultSize", "1 to 100000: at most this many events");
    ADD_FAILURE() << "no OutOfRange";
  } catch (const OutOfRange& e) {
    EXPECT_STREQ(e.what(), "ResultSize 99999999999 is out of range: allowed 1 to 100000");
  }
}

TEST(ParseListEdit, ExchangeHashtable) {
  EXPECT_FALSE(parse_list_edit("10.0.0.1", "RemoteIPRanges"));
  auto edit = parse_list_edit(R"(@{Add="10.0.0.5","10.0.0.6";Remove="10.0.0.4"})", "RemoteIPRanges");
  ASSERT_TRUE(edit);
  EXPECT_EQ(edit->add, (std::vector<std::string>{"10.0.0.5", "10.0.0.6"}));
  EXPECT_EQ(edit->remove, std::vector<std::string>{"10.0.0.4"});
  edit = parse_list_edit(" @{ remove = 'a;b@example.com' ; } ", "X");  // quotes keep ; and , inside
  ASSERT_TRUE(edit);
  EXPECT_TRUE(edit->add.empty());
  EXPECT_EQ(edit->remove, std::vector<std::string>{"a;b@example.com"});
  EXPECT_EQ(parse_list_edit("@{ADD=x,y}", "X")->add, (std::vector<std::string>{"x", "y"}));
}

TEST(ParseListEdit, MalformedIsAUsageErrorShowingTheForm) {
  for (const char* bad : {"@{Add=x", "@{Replace=x}", "@{x}", "@{}", "@{Add=\"x}", "@{Add=}"}) {
    EXPECT_THROW(parse_list_edit(bad, "RemoteIPRanges"), UsageError) << bad;
  }
  EXPECT_NE(usage_error_of([] { parse_list_edit("@{Set=x}", "RemoteIPRanges"); }).find("@{Add="), std::string::npos);
}

TEST(InvalidUtf8Offset, AcceptsUtf8AndFindsTheFirstBadByte) {
  constexpr auto npos = std::string_view::npos;
  EXPECT_EQ(invalid_utf8_offset(""), npos);
  EXPECT_EQ(invalid_utf8_offset("plain ascii"), npos);
  EXPECT_EQ(invalid_utf8_offset("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xac \xf4\x8f\xbf\xbf"), npos);
  EXPECT_EQ(invalid_utf8_offset("ab\xff"), 2u);
  EXPECT_EQ(invalid_utf8_offset("\xc0\xaf"), 0u);          // overlong '/'
  EXPECT_EQ(invalid_utf8_offset("x\xe0\x80\xaf"), 1u);     // overlong, three bytes
  EXPECT_EQ(invalid_utf8_offset("\xed\xa0\x80"), 0u);      // a surrogate
  EXPECT_EQ(invalid_utf8_offset("\xf4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(invalid_utf8_offset("ok\xe2\x82"), 2u);         // cut short
  EXPECT_EQ(invalid_utf8_offset("\xc3("), 0u);              // continuation missing
}

TEST(SplitList, SplitsTrimsAndDropsEmpties) {
  EXPECT_EQ(split_list("10.0.0.1,10.0.0.0/24"), (std::vector<std::string>{"10.0.0.1", "10.0.0.0/24"}));
  EXPECT_EQ(split_list(" a , b,,c ,"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(split_list(""), std::vector<std::string>{});
  EXPECT_EQ(split_list(" , "), std::vector<std::string>{});
  EXPECT_EQ(split_list("[::]:25"), std::vector<std::string>{"[::]:25"});
}

TEST(ApplyProperty, RepeatedFieldsConcatenateAllOccurrences) {
  v1::ReceiveConnector connector;
  apply_property(connector, connector_field("remote_ip_ranges"), {"10.0.0.1,10.0.0.0/24"});
  v1::ReceiveConnector twice;
  apply_property(twice, connector_field("remote_ip_ranges"), {"10.0.0.1", " 10.0.0.0/24 "});
  EXPECT_EQ(std::vector<std::string>(connector.remote_ip_ranges().begin(), connector.remote_ip_ranges().end()),
            (std::vector<std::string>{"10.0.0.1", "10.0.0.0/24"}));
  EXPECT_EQ(connector.SerializeAsString(), twice.SerializeAsString());

  apply_property(connector, connector_field("remote_ip_ranges"), {""});
  EXPECT_EQ(connector.remote_ip_ranges_size(), 0);  // given but empty: an empty list
}

TEST(ApplyProperty, StringsPassVerbatim) {
  v1::ReceiveConnector connector;
  apply_property(connector, connector_field("tarpit_interval"), {"5"});  // the daemon says what is wrong
  EXPECT_EQ(connector.tarpit_interval(), "5");
  apply_property(connector, connector_field("banner"), {" 220 hi, there "});
  EXPECT_EQ(connector.banner(), " 220 hi, there ");
  apply_property(connector, connector_field("comment"), {""});
  EXPECT_EQ(connector.comment(), "");
}

TEST(ApplyProperty, BoolsAndIntsAreConverted) {
  v1::ReceiveConnector connector;
  connector.set_enabled(true);
  apply_property(connector, connector_field("enabled"), {"$false"});
  EXPECT_FALSE(connector.enabled());
  apply_property(connector, connector_field("max_recipients_per_message"), {"500"});
  EXPECT_EQ(connector.max_recipients_per_message(), 500);
  EXPECT_EQ(usage_error_of([&] { apply_property(connector, connector_field("enabled"), {"perhaps"}); }),
            "Enabled 'perhaps' is not valid; allowed: true or false");
  EXPECT_EQ(usage_error_of([&] { apply_property(connector, connector_field("max_logon_failures"), {"ten"}); }),
            "MaxLogonFailures 'ten' is not valid: expected a whole number; allowed: 0 (never disconnect) to 10");
}

TEST(ApplyProperty, SingularFieldsOnlyOnce) {
  v1::ReceiveConnector connector;
  EXPECT_EQ(usage_error_of([&] {
              apply_property(connector, connector_field("tarpit_interval"), {"00:00:01", "00:00:02"});
            }),
            "TarpitInterval is given 2 times; give it once");
}

}  // namespace
}  // namespace adminctl
