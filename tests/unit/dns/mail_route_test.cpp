// MX routing decisions without DNS: the MX answer's meaning, host and address order, the route's status
// and sentence.
#include "transportd/dns/mail_route.h"

#include <gtest/gtest.h>

#include <set>

namespace transport::dns {
namespace {

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

DnsAnswer mx(std::vector<MxRecord> records) {
  DnsAnswer answer;
  answer.kind = AnswerKind::records;
  answer.mx_records = std::move(records);
  return answer;
}

DnsAnswer addresses(std::vector<asio::ip::address> list) {
  DnsAnswer answer;
  answer.kind = list.empty() ? AnswerKind::no_records : AnswerKind::records;
  answer.addresses = std::move(list);
  return answer;
}

DnsAnswer answer_of(AnswerKind kind, std::string reason = {}) {
  DnsAnswer answer;
  answer.kind = kind;
  answer.reason = std::move(reason);
  return answer;
}

std::vector<std::string> names(const std::vector<MailHost>& hosts) {
  std::vector<std::string> out;
  for (const auto& host : hosts) out.push_back(host.name);
  return out;
}

TEST(DnsNormalizeName, LowerCaseWithoutTheRootDot) {
  EXPECT_EQ(normalize_name("MX1.Example.COM."), "mx1.example.com");
  EXPECT_EQ(normalize_name("example.com"), "example.com");
  EXPECT_EQ(normalize_name("."), "");
}

TEST(DnsPlanMailHosts, OrdersByPreferenceWhateverOrderDnsGave) {
  auto plan = plan_mail_hosts("example.com", mx({{"backup.example.com", 20}, {"MX1.example.com.", 10}}), 1);
  ASSERT_FALSE(plan.finished);
  EXPECT_FALSE(plan.implicit_mx);
  EXPECT_EQ(names(plan.hosts), (std::vector<std::string>{"mx1.example.com", "backup.example.com"}));
  EXPECT_EQ(plan.hosts[0].preference, 10);
  EXPECT_EQ(plan.hosts[1].preference, 20);
}

TEST(DnsPlanMailHosts, EqualPreferencesAreShuffledRepeatablyBySeed) {
  std::vector<MxRecord> records{{"a.example", 10}, {"b.example", 10}, {"c.example", 10}, {"z.example", 5}};
  std::set<std::vector<std::string>> orders;
  for (std::uint64_t seed = 0; seed < 64; ++seed) {
    auto plan = plan_mail_hosts("example", mx(records), seed);
    ASSERT_EQ(plan.hosts.size(), 4u);
    EXPECT_EQ(plan.hosts[0].name, "z.example");  // the lower preference always first
    // The same seed gives the same order, whatever order DNS listed the records in.
    std::vector<MxRecord> reversed(records.rbegin(), records.rend());
    EXPECT_EQ(names(plan_mail_hosts("example", mx(reversed), seed).hosts), names(plan.hosts));
    orders.insert(names(plan.hosts));
  }
  EXPECT_EQ(orders.size(), 6u);  // all 3! orders of the equal-preference hosts occur
}

TEST(DnsPlanMailHosts, DuplicateHostKeepsItsMostPreferredEntry) {
  auto plan = plan_mail_hosts("example", mx({{"mx.example", 30}, {"other.example", 20}, {"MX.example.", 10}}), 0);
  EXPECT_EQ(names(plan.hosts), (std::vector<std::string>{"mx.example", "other.example"}));
  EXPECT_EQ(plan.hosts[0].preference, 10);
}

TEST(DnsPlanMailHosts, CappedToTheMostPreferredHosts) {
  std::vector<MxRecord> records;
  for (int i = 0; i < 30; ++i) records.push_back({"mx" + std::to_string(i) + ".example", static_cast<std::uint16_t>(100 - i)});
  auto plan = plan_mail_hosts("example", mx(records), 0);
  ASSERT_EQ(plan.hosts.size(), max_mail_hosts);
  EXPECT_EQ(plan.hosts.front().name, "mx29.example");
  EXPECT_EQ(plan.hosts.back().preference, 100 - 29 + max_mail_hosts - 1);
}

TEST(DnsPlanMailHosts, NullMxMeansNoMail) {
  auto plan = plan_mail_hosts("example.org", mx({{"", 0}}), 0);
  ASSERT_TRUE(plan.finished);
  EXPECT_EQ(plan.route.status, LookupStatus::null_mx);
  EXPECT_NE(plan.route.error.find("example.org accepts no mail"), std::string::npos) << plan.route.error;
  // "." as the record's text (some libraries keep the root's dot) is the same.
  EXPECT_EQ(plan_mail_hosts("example.org", mx({{".", 0}}), 0).route.status, LookupStatus::null_mx);
}

TEST(DnsPlanMailHosts, NullMxBesideRealRecordsIsIgnored) {
  auto plan = plan_mail_hosts("example.org", mx({{"", 0}, {"mx.example.org", 10}}), 0);
  ASSERT_FALSE(plan.finished);
  EXPECT_EQ(names(plan.hosts), (std::vector<std::string>{"mx.example.org"}));
}

TEST(DnsPlanMailHosts, NoMxRecordsMeansTheDomainItself) {
  auto plan = plan_mail_hosts("Example.NET.", answer_of(AnswerKind::no_records), 0);
  ASSERT_FALSE(plan.finished);
  EXPECT_TRUE(plan.implicit_mx);
  ASSERT_EQ(plan.hosts.size(), 1u);
  EXPECT_EQ(plan.hosts[0].name, "example.net");
  EXPECT_EQ(plan.hosts[0].preference, 0);
}

TEST(DnsPlanMailHosts, NxdomainIsPermanentAndFailureTemporary) {
  auto missing = plan_mail_hosts("nowhere.example", answer_of(AnswerKind::no_such_name, "NXDOMAIN"), 0);
  ASSERT_TRUE(missing.finished);
  EXPECT_EQ(missing.route.status, LookupStatus::no_such_domain);
  EXPECT_EQ(missing.route.error, "The domain nowhere.example does not exist in DNS (NXDOMAIN).");

  auto failed = plan_mail_hosts("slow.example", answer_of(AnswerKind::failed, "no answer from the DNS server"), 0);
  ASSERT_TRUE(failed.finished);
  EXPECT_EQ(failed.route.status, LookupStatus::temporary_failure);
  EXPECT_NE(failed.route.error.find("slow.example"), std::string::npos);
  EXPECT_NE(failed.route.error.find("no answer from the DNS server"), std::string::npos);
}

TEST(DnsPlanMailHosts, MxNamingAnAddressIsNotFollowed) {
  auto only_literal = plan_mail_hosts("bad.example", mx({{"192.0.2.25", 10}}), 0);
  ASSERT_TRUE(only_literal.finished);
  EXPECT_EQ(only_literal.route.status, LookupStatus::no_such_domain);
  EXPECT_NE(only_literal.route.error.find("192.0.2.25"), std::string::npos) << only_literal.route.error;

  auto mixed = plan_mail_hosts("bad.example", mx({{"2001:db8::25", 5}, {"mx.bad.example", 10}}), 0);
  ASSERT_FALSE(mixed.finished);
  EXPECT_EQ(names(mixed.hosts), (std::vector<std::string>{"mx.bad.example"}));
}

TEST(DnsOrderAddresses, AlternatesFamiliesIPv4FirstAndDropsDuplicates) {
  auto ordered = order_addresses({ip("2001:db8::1"), ip("2001:db8::2"), ip("192.0.2.1"), ip("2001:db8::1"),
                                  ip("192.0.2.2"), ip("192.0.2.1"), ip("2001:db8::3")});
  EXPECT_EQ(ordered, (std::vector<asio::ip::address>{ip("192.0.2.1"), ip("2001:db8::1"), ip("192.0.2.2"),
                                                     ip("2001:db8::2"), ip("2001:db8::3")}));
  EXPECT_EQ(order_addresses({ip("2001:db8::1")}), (std::vector<asio::ip::address>{ip("2001:db8::1")}));
  EXPECT_TRUE(order_addresses({}).empty());
}

TEST(DnsAssembleRoute, HostsKeepTheirOrderAndGetTheirAddresses) {
  auto plan = plan_mail_hosts("example", mx({{"mx1.example", 10}, {"mx2.example", 20}}), 0);
  auto route = assemble_route("example", plan,
                              {addresses({ip("2001:db8::1"), ip("192.0.2.1")}), addresses({ip("192.0.2.2")})});
  ASSERT_EQ(route.status, LookupStatus::ok);
  EXPECT_TRUE(route.error.empty());
  ASSERT_EQ(route.hosts.size(), 2u);
  EXPECT_EQ(route.hosts[0].name, "mx1.example");
  EXPECT_EQ(route.hosts[0].addresses, (std::vector<asio::ip::address>{ip("192.0.2.1"), ip("2001:db8::1")}));
  EXPECT_EQ(route.hosts[1].addresses, (std::vector<asio::ip::address>{ip("192.0.2.2")}));
}

TEST(DnsAssembleRoute, AnAddressIsTriedOnlyWithItsMostPreferredHost) {
  auto plan = plan_mail_hosts("example", mx({{"mx1.example", 10}, {"alias.example", 20}, {"mx3.example", 30}}), 0);
  auto route = assemble_route("example", plan,
                              {addresses({ip("192.0.2.1")}), addresses({ip("192.0.2.1")}),
                               addresses({ip("192.0.2.1"), ip("192.0.2.3")})});
  ASSERT_EQ(route.status, LookupStatus::ok);
  EXPECT_EQ(names(route.hosts), (std::vector<std::string>{"mx1.example", "mx3.example"}));
  EXPECT_EQ(route.hosts[1].addresses, (std::vector<asio::ip::address>{ip("192.0.2.3")}));
}

TEST(DnsAssembleRoute, HostsWithoutAddressAreSkipped) {
  auto plan = plan_mail_hosts("example", mx({{"gone.example", 10}, {"mx2.example", 20}}), 0);
  auto route = assemble_route("example", plan,
                              {answer_of(AnswerKind::no_such_name), addresses({ip("192.0.2.2")})});
  ASSERT_EQ(route.status, LookupStatus::ok);
  EXPECT_EQ(names(route.hosts), (std::vector<std::string>{"mx2.example"}));
}

TEST(DnsAssembleRoute, NoHostWithAnAddressIsPermanentUnlessALookupFailed) {
  auto plan = plan_mail_hosts("example", mx({{"gone.example", 10}, {"empty.example", 20}}), 0);
  auto permanent = assemble_route("example", plan,
                                  {answer_of(AnswerKind::no_such_name), answer_of(AnswerKind::no_records)});
  EXPECT_EQ(permanent.status, LookupStatus::no_such_domain);
  EXPECT_TRUE(permanent.hosts.empty());
  EXPECT_EQ(permanent.error,
            "None of the mail servers of example (gone.example, empty.example) has an address in DNS.");

  auto temporary = assemble_route("example", plan,
                                  {answer_of(AnswerKind::no_such_name), answer_of(AnswerKind::failed, "SERVFAIL")});
  EXPECT_EQ(temporary.status, LookupStatus::temporary_failure);
  EXPECT_NE(temporary.error.find("empty.example: SERVFAIL"), std::string::npos) << temporary.error;
}

TEST(DnsAssembleRoute, ImplicitMxWithoutAddress) {
  auto plan = plan_mail_hosts("bare.example", answer_of(AnswerKind::no_records), 0);
  auto route = assemble_route("bare.example", plan, {answer_of(AnswerKind::no_records)});
  EXPECT_EQ(route.status, LookupStatus::no_such_domain);
  EXPECT_EQ(route.error, "The domain bare.example has no MX record and no address.");
}

TEST(DnsDomainLiteral, RoutesToItsAddressWithoutLookup) {
  auto v4 = route_for_domain_literal("[192.0.2.7]");
  ASSERT_TRUE(v4);
  ASSERT_EQ(v4->status, LookupStatus::ok);
  ASSERT_EQ(v4->hosts.size(), 1u);
  EXPECT_EQ(v4->hosts[0].addresses, (std::vector<asio::ip::address>{ip("192.0.2.7")}));

  auto v6 = route_for_domain_literal("[IPv6:2001:db8::7]");
  ASSERT_TRUE(v6);
  ASSERT_EQ(v6->status, LookupStatus::ok);
  EXPECT_EQ(v6->hosts[0].addresses, (std::vector<asio::ip::address>{ip("2001:db8::7")}));

  auto bad = route_for_domain_literal("[999.0.0.1]");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, LookupStatus::no_such_domain);
  EXPECT_FALSE(route_for_domain_literal("[2001:db8::7]")->status == LookupStatus::ok);  // needs the IPv6: tag
  EXPECT_FALSE(route_for_domain_literal("example.com"));
}

TEST(DnsHostAddresses, FromTheAnswer) {
  auto found = host_addresses_from("smart.example", addresses({ip("2001:db8::9"), ip("192.0.2.9")}));
  EXPECT_EQ(found.status, LookupStatus::ok);
  EXPECT_EQ(found.addresses, (std::vector<asio::ip::address>{ip("192.0.2.9"), ip("2001:db8::9")}));
  EXPECT_EQ(host_addresses_from("gone.example", answer_of(AnswerKind::no_such_name, "NXDOMAIN")).status,
            LookupStatus::no_such_domain);
  EXPECT_EQ(host_addresses_from("gone.example", answer_of(AnswerKind::no_records)).status,
            LookupStatus::no_such_domain);
  auto failed = host_addresses_from("slow.example", answer_of(AnswerKind::failed, "SERVFAIL"));
  EXPECT_EQ(failed.status, LookupStatus::temporary_failure);
  EXPECT_EQ(failed.error, "The DNS lookup of the host slow.example failed (SERVFAIL); it will be retried.");
}

}  // namespace
}  // namespace transport::dns
