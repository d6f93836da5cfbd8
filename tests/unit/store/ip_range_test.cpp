// IpAddress and IpRange: strict IPv4, RFC 4291 IPv6 input, RFC 5952 output, IPv4-mapped addresses as
// IPv4, the three range forms, and the containment and overlap relations the uniqueness rule uses.
#include "store/ip_range.h"

#include <gtest/gtest.h>

#include "store/value_error.h"

namespace transport::store {
namespace {

constexpr IpValue kAllOnes = ~IpValue{0};

struct AddressCase {
  const char* text;
  IpFamily family;
  const char* canonical;
};

TEST(IpAddress, ParsesAndShowsCanonically) {
  const AddressCase cases[] = {
      {"0.0.0.0", IpFamily::v4, "0.0.0.0"},
      {"255.255.255.255", IpFamily::v4, "255.255.255.255"},
      {"10.0.0.1", IpFamily::v4, "10.0.0.1"},
      {"192.0.2.100", IpFamily::v4, "192.0.2.100"},
      {"::", IpFamily::v6, "::"},
      {"::1", IpFamily::v6, "::1"},
      {"1::", IpFamily::v6, "1::"},
      {"2001:DB8::1", IpFamily::v6, "2001:db8::1"},
      {"2001:0db8:0000:0000:0000:0000:0000:0001", IpFamily::v6, "2001:db8::1"},
      {"2001:db8:0:0:1:0:0:1", IpFamily::v6, "2001:db8::1:0:0:1"},      // first run wins a tie
      {"2001:0:0:1:0:0:0:1", IpFamily::v6, "2001:0:0:1::1"},            // longest run wins
      {"2001:db8:0:1:1:1:1:1", IpFamily::v6, "2001:db8:0:1:1:1:1:1"},   // a single zero group stays
      {"1:2:3:4:5:6:7::", IpFamily::v6, "1:2:3:4:5:6:7:0"},             // :: may stand for one group
      {"::2:3:4:5:6:7:8", IpFamily::v6, "0:2:3:4:5:6:7:8"},
      {"fe80::abcd:ef01", IpFamily::v6, "fe80::abcd:ef01"},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", IpFamily::v6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
      {"::1.2.3.4", IpFamily::v6, "::102:304"},                          // IPv4-compatible is plain IPv6
      {"64:ff9b::192.0.2.33", IpFamily::v6, "64:ff9b::c000:221"},
      {"1:2:3:4:5:6:1.2.3.4", IpFamily::v6, "1:2:3:4:5:6:102:304"},
      {"::ffff:1.2.3.4", IpFamily::v4, "1.2.3.4"},                       // mapped is IPv4 everywhere
      {"::FFFF:10.0.0.1", IpFamily::v4, "10.0.0.1"},
      {"::ffff:a00:1", IpFamily::v4, "10.0.0.1"},
      {"0:0:0:0:0:ffff:0102:0304", IpFamily::v4, "1.2.3.4"},
  };
  for (const AddressCase& c : cases) {
    SCOPED_TRACE(c.text);
    IpAddress address = IpAddress::parse(c.text);
    EXPECT_EQ(address.family(), c.family);
    EXPECT_EQ(address.to_string(), c.canonical);
    EXPECT_EQ(IpAddress::parse(address.to_string()), address);
  }
}

TEST(IpAddress, ValuesAndConstruction) {
  EXPECT_EQ(IpAddress::parse("10.0.0.1").value(), IpValue{0x0a000001});
  EXPECT_EQ(IpAddress::parse("::1").value(), IpValue{1});
  EXPECT_EQ(IpAddress::parse("10.0.0.1").max_value(), IpValue{0xffffffff});
  EXPECT_EQ(IpAddress::parse("::1").max_value(), kAllOnes);
  EXPECT_TRUE(IpAddress::parse("0.0.0.0").is_unspecified());
  EXPECT_TRUE(IpAddress::parse("::").is_unspecified());
  EXPECT_FALSE(IpAddress::parse("::1").is_unspecified());
  EXPECT_EQ(IpAddress(), IpAddress::parse("0.0.0.0"));
  EXPECT_EQ(IpAddress::v4(0x7f000001), IpAddress::parse("127.0.0.1"));

  std::array<std::uint8_t, 16> mapped{};
  mapped[10] = mapped[11] = 0xff;
  mapped[12] = 192, mapped[13] = 0, mapped[14] = 2, mapped[15] = 1;
  EXPECT_EQ(IpAddress::v6(mapped), IpAddress::parse("192.0.2.1"));
  EXPECT_EQ(IpAddress::v6(mapped).family(), IpFamily::v4);

  std::array<std::uint8_t, 16> loopback{};
  loopback[15] = 1;
  EXPECT_EQ(IpAddress::v6(loopback), IpAddress::parse("::1"));
  EXPECT_EQ(IpAddress::v6(loopback).family(), IpFamily::v6);
  EXPECT_NE(IpAddress::parse("::"), IpAddress::parse("0.0.0.0"));  // families differ
}

struct Invalid {
  const char* text;
  const char* fragment;
};

void expect_refused(const Invalid& c, IpRange (*parse)(std::string_view)) {
  SCOPED_TRACE(c.text);
  try {
    parse(c.text);
    ADD_FAILURE() << "accepted";
  } catch (const ValueError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind('"', 0), 0u) << message;
    EXPECT_NE(message.find(c.fragment), std::string::npos) << message;
  }
}

TEST(IpAddress, RefusesLaxForms) {
  const Invalid cases[] = {
      {"010.0.0.1", "part 010 has a leading zero; write 10"},
      {"0.00.0.1", "part 00 has a leading zero; write 0"},
      {"10.0.0.01", "leading zero"},
      {"256.0.0.1", "256 is greater than 255"},
      {"10.0.0.1000", "greater than 255"},
      {"10.0.0", "four parts"},
      {"10.0.0.1.2", "four parts"},
      {"10..0.1", "four parts"},
      {"10.0.0.", "four parts"},
      {"1", "four parts"},
      {"10.0.0.x", "unexpected character 'x'"},
      {"-1.0.0.0", "unexpected character '-'"},
      {"", "it is empty"},
      {"[::1]", "without brackets"},
      {"fe80::1%eth0", "zone ids"},
      {"1:2:3:4:5:6:7", "too few groups"},
      {"1:2:3:4:5:6:7:8:9", "too many groups"},
      {"1:2:3:4::5:6:7:8", "at most 7"},
      {"1::2::3", ":: may appear only once"},
      {":::", ":: may appear only once"},
      {":1:2:3:4:5:6:7", "empty"},
      {"1:2:3:4:5:6:7:", "empty"},
      {"12345::", "more than 4 hex digits"},
      {"g::", "unexpected character 'g'"},
      {"1.2.3.4::", "may only end"},
      {"::1.2.3.4:5", "may only end"},
      {"::1.2.3", "embedded IPv4"},
      {"::256.1.1.1", "greater than 255"},
      {"1:2:3:4:5:6:7:1.2.3.4", "too many groups"},
  };
  for (const Invalid& c : cases) {
    SCOPED_TRACE(c.text);
    try {
      IpAddress::parse(c.text);
      ADD_FAILURE() << "accepted";
    } catch (const ValueError& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(std::string("\"") + c.text + "\" is not a valid IP address", 0), 0u) << message;
      EXPECT_NE(message.find(c.fragment), std::string::npos) << message;
    }
  }
}

struct RangeCase {
  const char* text;
  IpRange::Form form;
  const char* first;
  const char* last;
  const char* canonical;
};

TEST(IpRange, ParsesTheThreeForms) {
  using F = IpRange::Form;
  const RangeCase cases[] = {
      {"10.0.0.1", F::single, "10.0.0.1", "10.0.0.1", "10.0.0.1"},
      {" 10.0.0.1 ", F::single, "10.0.0.1", "10.0.0.1", "10.0.0.1"},
      {"2001:DB8::1", F::single, "2001:db8::1", "2001:db8::1", "2001:db8::1"},
      {"::ffff:10.0.0.1", F::single, "10.0.0.1", "10.0.0.1", "10.0.0.1"},
      {"10.0.0.1-10.0.0.9", F::span, "10.0.0.1", "10.0.0.9", "10.0.0.1-10.0.0.9"},
      {"10.0.0.1 - 10.0.0.9", F::span, "10.0.0.1", "10.0.0.9", "10.0.0.1-10.0.0.9"},
      {"10.0.0.5-10.0.0.5", F::span, "10.0.0.5", "10.0.0.5", "10.0.0.5-10.0.0.5"},
      {"0.0.0.0-255.255.255.255", F::span, "0.0.0.0", "255.255.255.255", "0.0.0.0-255.255.255.255"},
      {"2001:db8::-2001:db8::ff", F::span, "2001:db8::", "2001:db8::ff", "2001:db8::-2001:db8::ff"},
      {"::ffff:10.0.0.1-10.0.0.9", F::span, "10.0.0.1", "10.0.0.9", "10.0.0.1-10.0.0.9"},
      {"10.0.0.0/24", F::cidr, "10.0.0.0", "10.0.0.255", "10.0.0.0/24"},
      {"0.0.0.0/0", F::cidr, "0.0.0.0", "255.255.255.255", "0.0.0.0/0"},
      {"10.1.2.3/32", F::cidr, "10.1.2.3", "10.1.2.3", "10.1.2.3/32"},
      {"10.0.0.0 / 8", F::cidr, "10.0.0.0", "10.255.255.255", "10.0.0.0/8"},
      {"::/0", F::cidr, "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0"},
      {"2001:DB8::/32", F::cidr, "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::/32"},
      {"2001:db8::1/128", F::cidr, "2001:db8::1", "2001:db8::1", "2001:db8::1/128"},
      {"fe80::/10", F::cidr, "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::/10"},
      // Mapped blocks are converted to the IPv4 block they stand for.
      {"::ffff:10.0.0.0/104", F::cidr, "10.0.0.0", "10.255.255.255", "10.0.0.0/8"},
      {"::ffff:0.0.0.0/96", F::cidr, "0.0.0.0", "255.255.255.255", "0.0.0.0/0"},
      {"::ffff:10.1.2.3/128", F::cidr, "10.1.2.3", "10.1.2.3", "10.1.2.3/32"},
      // ::/80 ends inside ::ffff:0:0/96 but stays an IPv6 block.
      {"::/80", F::cidr, "::", "::ffff:ffff:ffff", "::/80"},
  };
  for (const RangeCase& c : cases) {
    SCOPED_TRACE(c.text);
    IpRange range = IpRange::parse(c.text);
    EXPECT_EQ(range.form(), c.form);
    EXPECT_EQ(range.first().to_string(), c.first);
    EXPECT_EQ(range.last().to_string(), c.last);
    EXPECT_EQ(range.to_string(), c.canonical);
    IpRange again = IpRange::parse(range.to_string());
    EXPECT_EQ(again, range);
    EXPECT_EQ(again.to_string(), range.to_string());
  }
  EXPECT_EQ(IpRange::parse("::/80").last().family(), IpFamily::v6);
}

TEST(IpRange, RefusesWithAHint) {
  const Invalid cases[] = {
      {"10.0.0.1/24", "has host bits set: did you mean 10.0.0.0/24?"},
      {"10.0.0.1/0", "did you mean 0.0.0.0/0?"},
      {"2001:db8::1/32", "did you mean 2001:db8::/32?"},
      {"::ffff:10.0.0.1/104", "did you mean ::ffff:10.0.0.0/104?"},
      {"::ffff:10.0.0.0/80", "did you mean ::/80?"},
      {"10.0.0.0/33", "prefix length after / must be 0-32"},
      {"2001:db8::/129", "must be 0-128"},
      {"10.0.0.0/", "must be 0-32"},
      {"10.0.0.0/-1", "must be 0-32"},
      {"10.0.0.0/2a", "must be 0-32"},
      {"10.0.0.0/0024", "must be 0-32"},
      {"10.0.0.9-10.0.0.1", "the start is after the end; did you mean 10.0.0.1-10.0.0.9?"},
      {"10.0.0.1-::1", "both ends must be IPv4 or both IPv6"},
      {"10.0.0.1-", "is not a valid IP address"},
      {"010.0.0.1-10.0.0.9", "010.0.0.1 is not a valid IP address (part 010 has a leading zero; write 10)"},
      {"10.0.0.256", "greater than 255"},
      {"10.0.0.0/8/8", "must be 0-32"},
      {"", "write an address, a-b or a/len"},
  };
  for (const Invalid& c : cases) expect_refused(c, &IpRange::parse);
}

TEST(IpRange, BetweenAndTheWholeFamilies) {
  IpRange r = IpRange::between(IpAddress::parse("10.0.0.1"), IpAddress::parse("10.0.0.9"));
  EXPECT_EQ(r.form(), IpRange::Form::span);
  EXPECT_EQ(r.to_string(), "10.0.0.1-10.0.0.9");
  EXPECT_THROW(IpRange::between(IpAddress::parse("10.0.0.9"), IpAddress::parse("10.0.0.1")), ValueError);
  EXPECT_THROW(IpRange::between(IpAddress::parse("10.0.0.1"), IpAddress::parse("::1")), ValueError);

  EXPECT_EQ(IpRange::all_v4().to_string(), "0.0.0.0-255.255.255.255");
  EXPECT_EQ(IpRange::all_v6().to_string(), "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_EQ(IpRange::all_v4().form(), IpRange::Form::span);
  EXPECT_EQ(IpRange::all_v6().form(), IpRange::Form::span);
  EXPECT_EQ(IpRange::all_v4(), IpRange::parse("0.0.0.0/0"));
  EXPECT_EQ(IpRange::all_v6(), IpRange::parse("::/0"));
  EXPECT_EQ(IpRange::all_v4().span(), IpValue{0xffffffff});
  EXPECT_EQ(IpRange::all_v6().span(), kAllOnes);
}

TEST(IpRange, SpanOrdersNestedRangesBySpecificity) {
  const IpRange all = IpRange::all_v4();
  const IpRange lan = IpRange::parse("10.1.2.0/24");
  const IpRange host = IpRange::parse("10.1.2.7");
  EXPECT_EQ(host.span(), IpValue{0});
  EXPECT_EQ(lan.span(), IpValue{255});
  EXPECT_LT(host.span(), lan.span());
  EXPECT_LT(lan.span(), all.span());
  EXPECT_EQ(IpRange::parse("10.1.2.7/32").span(), IpValue{0});
  EXPECT_EQ(IpRange::parse("2001:db8::1/128").span(), IpValue{0});
  EXPECT_LT(IpRange::parse("2001:db8::/64").span(), IpRange::all_v6().span());
}

TEST(IpRange, ContainsAddresses) {
  const IpRange lan = IpRange::parse("10.1.2.0/24");
  EXPECT_TRUE(lan.contains(IpAddress::parse("10.1.2.0")));
  EXPECT_TRUE(lan.contains(IpAddress::parse("10.1.2.255")));
  EXPECT_FALSE(lan.contains(IpAddress::parse("10.1.3.0")));
  EXPECT_FALSE(lan.contains(IpAddress::parse("10.1.1.255")));
  EXPECT_TRUE(lan.contains(IpAddress::parse("::ffff:10.1.2.7")));  // mapped counts as IPv4
  EXPECT_FALSE(lan.contains(IpAddress::parse("::a01:207")));       // same low bits, other family

  EXPECT_TRUE(IpRange::all_v4().contains(IpAddress::parse("255.255.255.255")));
  EXPECT_FALSE(IpRange::all_v4().contains(IpAddress::parse("::1")));
  EXPECT_TRUE(IpRange::all_v6().contains(IpAddress::parse("::1")));
  EXPECT_FALSE(IpRange::all_v6().contains(IpAddress::parse("0.0.0.0")));
  EXPECT_FALSE(IpRange::all_v6().contains(IpAddress::parse("::ffff:1.2.3.4")));
  EXPECT_TRUE(IpRange::parse("0.0.0.0/0").contains(IpAddress::parse("::ffff:1.2.3.4")));
}

struct Relation {
  const char* a;
  const char* b;
  bool a_contains_b;
  bool overlaps;
  bool partial;
};

TEST(IpRange, ContainmentAndOverlap) {
  const Relation cases[] = {
      {"0.0.0.0/0", "10.0.0.0/8", true, true, false},
      {"10.0.0.0/8", "0.0.0.0/0", false, true, false},
      {"10.0.0.0/8", "10.1.2.0/24", true, true, false},
      {"10.1.2.0/24", "10.1.2.7", true, true, false},
      {"10.1.2.0/24", "10.1.2.0-10.1.2.255", true, true, false},  // equal ranges: nested, not partial
      {"10.1.2.7", "10.1.2.7", true, true, false},
      {"10.0.0.0-10.0.0.100", "10.0.0.50-10.0.0.200", false, true, true},
      {"10.0.0.50-10.0.0.200", "10.0.0.0-10.0.0.100", false, true, true},
      {"10.0.0.0-10.0.0.100", "10.0.0.100-10.0.0.200", false, true, true},  // touching at one address
      {"10.0.0.0-10.0.0.100", "10.0.0.101-10.0.0.200", false, false, false},
      {"10.0.0.0/24", "10.0.1.0/24", false, false, false},
      {"0.0.0.0/0", "::/0", false, false, false},  // other family never relates
      {"::/0", "0.0.0.0/0", false, false, false},
      {"10.0.0.0/8", "::a00:0/104", false, false, false},
      {"::/0", "2001:db8::/32", true, true, false},
      {"2001:db8::/32", "2001:db8::1", true, true, false},
      {"2001:db8::-2001:db8::ff", "2001:db8::80-2001:db8::1ff", false, true, true},
      {"::ffff:10.0.0.0/104", "10.1.0.0/16", true, true, false},
  };
  for (const Relation& c : cases) {
    SCOPED_TRACE(std::string(c.a) + " vs " + c.b);
    const IpRange a = IpRange::parse(c.a);
    const IpRange b = IpRange::parse(c.b);
    EXPECT_EQ(a.contains(b), c.a_contains_b);
    EXPECT_EQ(a.overlaps(b), c.overlaps);
    EXPECT_EQ(b.overlaps(a), c.overlaps);
    EXPECT_EQ(a.partially_overlaps(b), c.partial);
    EXPECT_EQ(b.partially_overlaps(a), c.partial);
  }
}

}  // namespace
}  // namespace transport::store
