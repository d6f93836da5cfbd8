// ConfigurationService on a real SQLite file: first-start defaults, whole-change validation, one
// transaction per change, and snapshots that are replaced, never mutated.
#include "transportd/config/configuration_service.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "store/sqlite_store.h"
#include "store/value_error.h"
#include "transportd/config/admin_error.h"
#include "transportd/config/change_caller.h"

namespace transport::config {
namespace {

class ConfigurationServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/transport-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    store_ = std::make_unique<store::SqliteStore>(dir_ / "config.db");
    service_ = std::make_unique<ConfigurationService>(*store_, "MAIL01", std::vector<std::string>{"127.0.0.1:2525"});
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<ConfigurationService> service_;
};

TEST_F(ConfigurationServiceTest, FirstStartCreatesTheDefaultConnector) {
  auto config = service_->snapshot();
  ASSERT_EQ(config->connectors.size(), 1u);
  EXPECT_EQ(config->connectors[0].name, "Default MAIL01");
  EXPECT_EQ(config->connectors[0].tarpit_interval.seconds(), 5);
  EXPECT_EQ(config->connectors[0].fqdn, "mail01");
  EXPECT_EQ(ConfigurationService::identity(*config, config->connectors[0]), "MAIL01\\Default MAIL01");
}

TEST_F(ConfigurationServiceTest, AChangePublishesANewSnapshotAndLeavesTheOldOneAlone) {
  auto before = service_->snapshot();
  int notified = 0;
  service_->on_change([&](const store::ConfigurationPtr&) { ++notified; });
  service_->set_connectors({"*"}, {{"TarpitInterval", {"00:00:10"}}});
  EXPECT_EQ(before->connectors[0].tarpit_interval.seconds(), 5);
  EXPECT_EQ(service_->snapshot()->connectors[0].tarpit_interval.seconds(), 10);
  EXPECT_EQ(notified, 1);
}

TEST_F(ConfigurationServiceTest, ASetOverSeveralConnectorsIsAllOrNothing) {
  service_->new_connector({{"Name", {"Trusted"}}, {"Bindings", {"127.0.0.1:2525"}}, {"RemoteIPRanges", {"127.0.0.2"}}});
  // Giving both connectors the same range makes them collide with each other: nothing may change.
  EXPECT_THROW(service_->set_connectors({"*"}, {{"RemoteIPRanges", {"10.0.0.0/8"}}, {"TarpitInterval", {"00:00:01"}}}),
               AdminError);
  for (const auto& c : service_->snapshot()->connectors) EXPECT_NE(c.tarpit_interval.seconds(), 1) << c.name;
  for (const auto& c : store_->load().connectors) EXPECT_NE(c.tarpit_interval.seconds(), 1) << c.name;
}

TEST_F(ConfigurationServiceTest, AChangeWhoseCallerGaveUpIsNotApplied) {
  bool gave_up = true;
  {
    const ChangeCaller caller([&] { return gave_up; });
    try {
      service_->set_connectors({"*"}, {{"TarpitInterval", {"00:00:09"}}});
      ADD_FAILURE() << "an abandoned change was applied";
    } catch (const AdminError& e) {
      EXPECT_EQ(e.kind(), AdminError::Kind::abandoned);
    }
    EXPECT_EQ(service_->snapshot()->connectors[0].tarpit_interval.seconds(), 5);
    EXPECT_EQ(store_->load().connectors[0].tarpit_interval.seconds(), 5);
    gave_up = false;
    service_->set_connectors({"*"}, {{"TarpitInterval", {"00:00:09"}}});
    EXPECT_EQ(store_->load().connectors[0].tarpit_interval.seconds(), 9);
  }
  EXPECT_FALSE(ChangeCaller::gave_up());  // the scope ended: no caller on this thread any more
}

TEST_F(ConfigurationServiceTest, ErrorsCarryTheirKind) {
  EXPECT_THROW(service_->set_connectors({"Nope"}, {{"Enabled", {"false"}}}), AdminError);
  EXPECT_THROW(service_->set_connectors({"*"}, {{"NoSuchProperty", {"1"}}}), store::ValidationError);
  EXPECT_THROW(service_->new_connector({{"Name", {"X"}}}), store::ValidationError);  // Bindings required
  try {
    service_->new_connector({{"Name", {"default mail01"}}, {"Bindings", {"127.0.0.1:1"}}});
    FAIL() << "duplicate name accepted";
  } catch (const AdminError& e) {
    EXPECT_EQ(e.kind(), AdminError::Kind::already_exists);
  }
}

TEST_F(ConfigurationServiceTest, MakingADomainTheDefaultClearsThePreviousDefault) {
  service_->new_accepted_domain({{"Name", {"A"}}, {"DomainName", {"a.example"}}, {"Default", {"true"}}});
  service_->new_accepted_domain({{"Name", {"B"}}, {"DomainName", {"b.example"}}, {"Default", {"true"}}});
  auto domains = store_->load().accepted_domains;
  ASSERT_EQ(domains.size(), 2u);
  EXPECT_FALSE(domains[0].is_default);
  EXPECT_TRUE(domains[1].is_default);
}

// DESIGN §3: the host name is stored by the first start and a later start's name does not replace it.
TEST_F(ConfigurationServiceTest, TheStoredHostNameWinsOverALaterStartsName) {
  service_.reset();
  ConfigurationService later(*store_, "RENAMED", {"127.0.0.1:2525"});
  auto config = later.snapshot();
  EXPECT_EQ(config->host_name, "MAIL01");
  ASSERT_EQ(config->connectors.size(), 1u);
  EXPECT_EQ(ConfigurationService::identity(*config, config->connectors[0]), "MAIL01\\Default MAIL01");
  EXPECT_EQ(store_->load().host_name, "MAIL01");
}

// A database without a stored host name (a first start that stopped half-way) takes this start's,
// and gets no second default connector when it has connectors already.
TEST_F(ConfigurationServiceTest, ADatabaseWithoutAHostNameTakesThisStartsName) {
  service_.reset();
  store_.reset();
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "config.db").c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "DELETE FROM transport_server", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  store_ = std::make_unique<store::SqliteStore>(dir_ / "config.db");
  ConfigurationService service(*store_, "MAIL02", {"127.0.0.1:2526"});
  EXPECT_EQ(service.snapshot()->host_name, "MAIL02");
  EXPECT_EQ(service.snapshot()->connectors.size(), 1u);
  EXPECT_EQ(store_->load().host_name, "MAIL02");
}

TEST_F(ConfigurationServiceTest, ConnectorsTakeTheDefaultFqdn) {
  service_.reset();
  store_.reset();
  std::filesystem::remove(dir_ / "config.db");
  store_ = std::make_unique<store::SqliteStore>(dir_ / "config.db");
  ConfigurationService service(*store_, "MAIL01", {"127.0.0.1:2525"}, "mail01.example.com");
  EXPECT_EQ(service.snapshot()->connectors[0].fqdn, "mail01.example.com");
  EXPECT_EQ(service.new_connector({{"Name", {"Other"}}, {"Bindings", {"127.0.0.1:2526"}}}).fqdn, "mail01.example.com");
  EXPECT_EQ(service.snapshot()->host_name, "MAIL01");  // identities keep the short name
}

// Mail for a mailbox goes to DATA_DIR/mailboxes/<PrimarySmtpAddress>/: an address that is not one
// path component is refused when the mailbox is made or changed.
TEST_F(ConfigurationServiceTest, APrimaryAddressThatCannotNameADirectoryIsRefused) {
  std::string long_domain = "example";
  for (char c : {'d', 'e', 'f', 'g'}) long_domain = std::string(60, c) + "." + long_domain;
  const std::string too_long = std::string(64, 'a') + "@" + long_domain;  // 316 octets, a valid address
  for (const std::string& address : {std::string("a/b@example.com"), too_long}) {
    try {
      service_->new_mailbox({{"PrimarySmtpAddress", {address}}}, std::nullopt);
      ADD_FAILURE() << address << " accepted";
    } catch (const store::ValidationError& e) {
      EXPECT_EQ(e.property(), "PrimarySmtpAddress");
      EXPECT_NE(std::string(e.what()).find("cannot name the mailbox's directory"), std::string::npos) << e.what();
    }
  }
  service_->new_mailbox({{"PrimarySmtpAddress", {"alice@example.com"}}}, std::nullopt);
  EXPECT_THROW(service_->set_mailboxes({"alice@example.com"}, {{"PrimarySmtpAddress", {"al/ice@example.com"}}},
                                       std::nullopt),
               store::ValidationError);
  EXPECT_EQ(service_->snapshot()->mailboxes.size(), 1u);
  EXPECT_EQ(store_->load().mailboxes.at(0).primary_smtp_address, "alice@example.com");
  // Aliases are looked up, never used as paths.
  service_->set_mailboxes({"alice@example.com"}, {{"EmailAddresses", {"a/lice@example.com"}}}, std::nullopt);
}

store::ReceiveConnector connector(const std::string& name, const std::string& binding, const std::string& range) {
  store::ReceiveConnector c;
  c.name = name;
  c.fqdn = "mail01";
  c.bindings = {store::Binding::parse(binding)};
  c.remote_ip_ranges = {store::IpRange::parse(range)};
  return c;
}

// --check-config and start-up hold a stored configuration to every rule a change is held to.
TEST_F(ConfigurationServiceTest, ProblemsNameEveryObjectThatBreaksARule) {
  store::Configuration config;
  config.host_name = "MAIL01";
  EXPECT_TRUE(ConfigurationService::problems(config).empty());
  config.connectors = {connector("A", "127.0.0.1:25", "10.0.0.0/16"), connector("B", "127.0.0.1:25", "10.0.1.0/24")};
  EXPECT_TRUE(ConfigurationService::problems(config).empty());  // nested ranges are fine
  config.connectors.push_back(connector("C", "127.0.0.1:25", "10.0.255.0-10.1.0.255"));
  store::ReceiveConnector trusted = connector("Trusted", "127.0.0.1:26", "10.0.0.1");
  trusted.auth_mechanism = store::AuthMechanism{store::AuthMechanismFlag::external_authoritative};
  trusted.permission_groups = store::PermissionGroups{store::PermissionGroup::exchange_servers,
                                                      store::PermissionGroup::anonymous_users};
  config.connectors.push_back(trusted);
  config.connectors.push_back(connector("a", "127.0.0.1:27", "10.0.0.1"));
  store::AcceptedDomain first;
  first.name = "First";
  first.domain_name = "example.com";
  first.is_default = true;
  store::AcceptedDomain second = first;
  second.name = "Second";
  second.domain_name = "example.org";
  config.accepted_domains = {first, second};
  store::Mailbox alice;
  alice.primary_smtp_address = "alice@example.com";
  store::Mailbox slash;
  slash.primary_smtp_address = "a/b@example.com";
  store::Mailbox taken;
  taken.primary_smtp_address = "bob@example.com";
  taken.email_addresses = {"ALICE@example.com"};
  config.mailboxes = {alice, slash, taken};

  const std::vector<std::string> problems = ConfigurationService::problems(config);
  auto reported = [&](const std::string& start, const std::string& fragment) {
    for (const std::string& p : problems) {
      if (p.starts_with(start) && p.find(fragment) != std::string::npos) return true;
    }
    return false;
  };
  std::string all;
  for (const std::string& p : problems) all += p + "\n";
  EXPECT_EQ(problems.size(), 6u) << all;
  EXPECT_TRUE(reported("receive connector \"MAIL01\\C\"", "partially overlaps 10.0.0.0/16 of connector \"A\"")) << all;
  EXPECT_TRUE(reported("receive connector \"MAIL01\\Trusted\"", "without AnonymousUsers")) << all;
  EXPECT_TRUE(reported("receive connector \"MAIL01\\a\"", "named \"A\" already exists")) << all;
  EXPECT_TRUE(reported("accepted domain \"Second\"", "\"First\" is the default already")) << all;
  EXPECT_TRUE(reported("mailbox \"a/b@example.com\"", "contains '/'")) << all;
  EXPECT_TRUE(reported("mailbox \"bob@example.com\"", "ALICE@example.com already belongs to mailbox alice@example.com"))
      << all;
}

TEST_F(ConfigurationServiceTest, ProblemsIncludeTheConnectorCheck) {
  store::Configuration config = *service_->snapshot();
  config.connectors[0].tls_certificate_path = "/nonexistent/cert.pem";
  config.connectors[0].tls_key_path = "/nonexistent/key.pem";
  const auto problems = ConfigurationService::problems(config, [](const store::ReceiveConnector& c) {
    throw store::ValidationError("TlsCertificatePath", "cannot read " + c.tls_certificate_path);
  });
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "receive connector \"MAIL01\\Default MAIL01\": cannot read /nonexistent/cert.pem");
}

TEST_F(ConfigurationServiceTest, ListEditsApplyToTheListAsItIsInsideTheChange) {
  service_->set_connectors({"*"}, {{"RemoteIPRanges", {"2001:db8::1", "10.0.0.2"}}});
  // Two edits made one after the other both count: each edits the list as the other left it.
  service_->set_connectors({"*"}, {}, {{"RemoteIPRanges", {"10.0.0.3"}, {}}});
  // An entry to remove is normalized like the list's entries before they are compared.
  service_->set_connectors({"*"}, {}, {{"RemoteIPRanges", {"10.0.0.4"}, {"2001:DB8:0::1"}}});
  const auto ranges = service_->snapshot()->connectors[0].remote_ip_ranges;
  ASSERT_EQ(ranges.size(), 3u);
  EXPECT_EQ(ranges[0].to_string(), "10.0.0.2");
  EXPECT_EQ(ranges[1].to_string(), "10.0.0.3");
  EXPECT_EQ(ranges[2].to_string(), "10.0.0.4");
}

TEST_F(ConfigurationServiceTest, RemovingAnAbsentEntryWarnsAndAFlagListEmptiesToNone) {
  const ChangeCaller caller([] { return false; });
  service_->set_connectors({"*"}, {}, {{"PermissionGroups", {}, {"AnonymousUsers", "exchangeusers", "Partners"}}});
  ASSERT_EQ(caller.warnings().size(), 1u);
  EXPECT_EQ(caller.warnings()[0], "PermissionGroups of MAIL01\\Default MAIL01 has no entry \"Partners\" to remove");
  EXPECT_EQ(store::to_strings(service_->snapshot()->connectors[0].permission_groups), std::vector<std::string>{"None"});
  service_->set_connectors({"*"}, {}, {{"PermissionGroups", {"Partners"}, {}}});
  EXPECT_EQ(store::to_strings(service_->snapshot()->connectors[0].permission_groups),
            std::vector<std::string>{"Partners"});
}

TEST_F(ConfigurationServiceTest, AnEditedListIsValidatedAsAWhole) {
  EXPECT_THROW(service_->set_connectors({"*"}, {}, {{"AuthMechanism", {}, {"BasicAuth"}}}), store::ValidationError);
  EXPECT_THROW(service_->set_connectors({"*"}, {}, {{"TarpitInterval", {"00:00:01"}, {}}}), store::ValidationError);
  EXPECT_EQ(store::to_strings(service_->snapshot()->connectors[0].auth_mechanism),
            (std::vector<std::string>{"Tls", "BasicAuth", "BasicAuthRequireTLS"}));
}

TEST_F(ConfigurationServiceTest, AWhatIfIsValidatedButNeitherStoredNorPublished) {
  int notified = 0;
  service_->on_change([&](const store::ConfigurationPtr&) { ++notified; });
  {
    const ChangeCaller caller([] { return false; }, /*what_if=*/true);
    const auto would_be = service_->set_connectors({"*"}, {{"TarpitInterval", {"00:00:09"}}});
    ASSERT_EQ(would_be.size(), 1u);
    EXPECT_EQ(would_be[0].tarpit_interval.seconds(), 9);
    const auto created = service_->new_connector({{"Name", {"Extra"}}, {"Bindings", {"127.0.0.1:2600"}}});
    EXPECT_EQ(created.name, "Extra");
    EXPECT_EQ(service_->remove_connectors({"*"}), std::vector<std::string>{"MAIL01\\Default MAIL01"});
    EXPECT_THROW(service_->set_connectors({"*"}, {{"TarpitInterval", {"00:15:00"}}}), store::ValidationError);
    service_->set_transport_server({{"ReceiveProtocolLogMaxAge", {"1.00:00:00"}}});
  }
  EXPECT_EQ(notified, 0);
  EXPECT_EQ(service_->snapshot()->connectors.size(), 1u);
  EXPECT_EQ(service_->snapshot()->connectors[0].tarpit_interval.seconds(), 5);
  EXPECT_EQ(store_->load().connectors.size(), 1u);
  EXPECT_EQ(store_->load().transport_server.receive_protocol_log_max_age.seconds(), 30 * 86400);
}

TEST_F(ConfigurationServiceTest, TransportServerSettingsAreStored) {
  EXPECT_EQ(service_->get_transport_server().receive_protocol_log_max_directory_size, store::ByteSize::megabytes(250));
  service_->set_transport_server({{"ReceiveProtocolLogMaxDirectorySize", {"unlimited"}},
                                  {"ReceiveProtocolLogMaxAge", {"00:00:00"}}});
  const auto stored = store_->load().transport_server;
  EXPECT_FALSE(stored.receive_protocol_log_max_directory_size);
  EXPECT_EQ(stored.receive_protocol_log_max_age.seconds(), 0);
  EXPECT_THROW(service_->set_transport_server({{"ReceiveProtocolLogMaxDirectorySize", {"512KB"}}}),
               store::ValidationError);
}

TEST_F(ConfigurationServiceTest, HarvestDefenceSettingsAreStoredAndHeldToTheirRules) {
  EXPECT_TRUE(service_->get_harvest_defence().enabled);
  int notified = 0;
  service_->on_change([&](const store::ConfigurationPtr& config) {
    ++notified;
    EXPECT_EQ(config->harvest_defence.half_life.seconds(), 2);
  });
  service_->set_harvest_defence({{"HalfLife", {"00:00:02"}}, {"DiscreditAbandonedHolds", {"5"}}},
                                {{"ExemptRemoteIPRanges", {"127.0.0.2", "::1"}, {}}});
  EXPECT_EQ(notified, 1);
  auto stored = store_->load().harvest_defence;
  EXPECT_EQ(stored.half_life.seconds(), 2);
  EXPECT_EQ(stored.discredit_abandoned_holds, 5);
  ASSERT_EQ(stored.exempt_remote_ip_ranges.size(), 2u);

  // Suspect above Discredit: refused as a whole, nothing stored or published.
  try {
    service_->set_harvest_defence({{"SuspectRefusedRecipients", {"26"}}, {"AuthFailureThreshold", {"3"}}});
    ADD_FAILURE() << "SuspectRefusedRecipients 26 above DiscreditRefusedRecipients 25 accepted";
  } catch (const store::ValidationError& e) {
    EXPECT_EQ(e.property(), "SuspectRefusedRecipients");
  }
  EXPECT_EQ(notified, 1);
  EXPECT_EQ(store_->load().harvest_defence.auth_failure_threshold, 10);
  EXPECT_EQ(service_->snapshot()->harvest_defence.auth_failure_threshold, 10);
  EXPECT_THROW(service_->set_harvest_defence({{"Tarpit", {"1"}}}), store::ValidationError);
}

TEST_F(ConfigurationServiceTest, ProblemsNameABrokenHarvestDefenceRule) {
  store::Configuration config = *service_->snapshot();
  EXPECT_TRUE(ConfigurationService::problems(config).empty());
  config.harvest_defence.suspect_abandoned_holds = 9;
  const auto problems = ConfigurationService::problems(config);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_TRUE(problems[0].starts_with("harvest defence configuration: SuspectAbandonedHolds 9 is above")) << problems[0];
}

// The kind of AdminError a change throws, or "ValidationError <property>", or "ok".
template <class Change>
std::string outcome(Change change) {
  try {
    change();
  } catch (const store::ValidationError& e) {
    return "ValidationError " + e.property();
  } catch (const AdminError& e) {
    switch (e.kind()) {
      case AdminError::Kind::not_found: return "not_found";
      case AdminError::Kind::already_exists: return "already_exists";
      case AdminError::Kind::conflict: return "conflict";
      case AdminError::Kind::abandoned: return "abandoned";
    }
  }
  return "ok";
}

TEST_F(ConfigurationServiceTest, SendConnectorsAreCreatedChangedAndRemovedInTheStore) {
  EXPECT_TRUE(service_->snapshot()->send_connectors.empty());
  const store::SendConnector created =
      service_->new_send_connector({{"Name", {"Internet"}}, {"AddressSpaces", {"*"}}}, std::nullopt);
  EXPECT_NE(created.id, 0);
  EXPECT_TRUE(created.dns_routing_enabled);
  EXPECT_EQ(ConfigurationService::identity(*service_->snapshot(), created), "Internet");
  service_->new_send_connector({{"Name", {"Partner"}}, {"AddressSpaces", {"partner.example;5"}},
                                {"SmartHosts", {"relay.partner.example"}}},
                               std::nullopt);
  EXPECT_EQ(service_->get_send_connectors({}).size(), 2u);
  EXPECT_EQ(service_->get_send_connectors({"p*"}).front().name, "Partner");

  const auto changed = service_->set_send_connectors({"*"}, {{"Port", {"2525"}}}, std::nullopt);
  EXPECT_EQ(changed.size(), 2u);
  for (const auto& c : store_->load().send_connectors) EXPECT_EQ(c.port, 2525) << c.name;

  EXPECT_EQ(service_->remove_send_connectors({"internet"}), std::vector<std::string>{"Internet"});
  ASSERT_EQ(store_->load().send_connectors.size(), 1u);
  EXPECT_EQ(store_->load().send_connectors.front().name, "Partner");
}

TEST_F(ConfigurationServiceTest, SendConnectorErrorsCarryTheirKindAndNameTheProperty) {
  service_->new_send_connector({{"Name", {"Internet"}}, {"AddressSpaces", {"*"}}}, std::nullopt);
  EXPECT_EQ(outcome([&] { service_->new_send_connector({{"Name", {"INTERNET"}}, {"AddressSpaces", {"x.example"}}},
                                                       std::nullopt); }),
            "already_exists");
  EXPECT_EQ(outcome([&] { service_->new_send_connector({{"Name", {"Empty"}}}, std::nullopt); }),
            "ValidationError AddressSpaces");
  EXPECT_EQ(outcome([&] { service_->set_send_connectors({"Nope"}, {{"Port", {"26"}}}, std::nullopt); }), "not_found");
  EXPECT_EQ(outcome([&] { service_->set_send_connectors({"Internet"}, {{"Port", {"0"}}}, std::nullopt); }),
            "ValidationError Port");
  EXPECT_EQ(outcome([&] {
              service_->set_send_connectors({"Internet"}, {{"SmartHostAuthMechanism", {"BasicAuth"}}}, std::nullopt);
            }),
            "ValidationError SmartHostAuthMechanism");  // needs smart hosts
  EXPECT_EQ(outcome([&] {
              service_->set_send_connectors({"Internet"}, {{"DNSRoutingEnabled", {"false"}}}, std::nullopt);
            }),
            "ValidationError DNSRoutingEnabled");  // neither DNS nor smart hosts
  EXPECT_EQ(outcome([&] { service_->remove_send_connectors({"Nope"}); }), "not_found");
  EXPECT_EQ(store_->load().send_connectors.front().port, 25);  // nothing was half-applied
}

TEST_F(ConfigurationServiceTest, DnsRoutingFollowsSmartHostsUnlessGivenToo) {
  auto made = service_->new_send_connector(
      {{"Name", {"Relay"}}, {"AddressSpaces", {"*"}}, {"SmartHosts", {"relay.example.com"}}}, std::nullopt);
  EXPECT_FALSE(made.dns_routing_enabled);
  auto set = [&](const PropertyChanges& changes, const ListEdits& edits = {}) {
    return service_->set_send_connectors({"Relay"}, changes, std::nullopt, edits).front();
  };
  EXPECT_TRUE(set({{"SmartHosts", {}}}).dns_routing_enabled);
  EXPECT_FALSE(set({}, {{"SmartHosts", {"192.0.2.1:587"}, {}}}).dns_routing_enabled);
  EXPECT_TRUE(set({}, {{"SmartHosts", {}, {"192.0.2.1:587"}}}).dns_routing_enabled);
  EXPECT_TRUE(store_->load().send_connectors.front().dns_routing_enabled);
  // Given both, they must agree: nothing follows.
  EXPECT_EQ(outcome([&] { set({{"SmartHosts", {"relay.example.com"}}, {"DNSRoutingEnabled", {"true"}}}); }),
            "ValidationError DNSRoutingEnabled");
  EXPECT_FALSE(set({{"SmartHosts", {"relay.example.com"}}, {"DNSRoutingEnabled", {"false"}}}).dns_routing_enabled);
  // Another property leaves it alone.
  EXPECT_FALSE(set({{"Comment", {"x"}}}).dns_routing_enabled);
}

TEST_F(ConfigurationServiceTest, TheCredentialPasswordIsKeptReplacedAndRemoved) {
  service_->new_send_connector({{"Name", {"Relay"}},
                                {"AddressSpaces", {"*"}},
                                {"SmartHosts", {"relay.example.com"}},
                                {"SmartHostAuthMechanism", {"BasicAuth"}},
                                {"AuthenticationCredential", {"relay-user"}}},
                               std::string("first"));
  EXPECT_EQ(store_->load().send_connectors.front().auth_password, "first");
  service_->set_send_connectors({"Relay"}, {{"Port", {"587"}}}, std::nullopt);  // kept
  EXPECT_EQ(store_->load().send_connectors.front().auth_password, "first");
  service_->set_send_connectors({"Relay"}, {}, std::string("second"));
  EXPECT_EQ(store_->load().send_connectors.front().auth_password, "second");
  // BasicAuth needs the password: removing it alone is refused, and nothing changes.
  EXPECT_EQ(outcome([&] { service_->set_send_connectors({"Relay"}, {}, std::string()); }),
            "ValidationError AuthenticationCredential");
  EXPECT_EQ(store_->load().send_connectors.front().auth_password, "second");
  EXPECT_EQ(outcome([&] { service_->set_send_connectors({"Relay"}, {}, std::string("a\nb")); }),
            "ValidationError AuthenticationCredential");
  // Without authentication, clearing the user name takes the password with it.
  service_->set_send_connectors({"Relay"}, {{"SmartHostAuthMechanism", {"None"}}, {"AuthenticationCredential", {""}}},
                                std::nullopt);
  EXPECT_EQ(store_->load().send_connectors.front().auth_user, "");
  EXPECT_EQ(store_->load().send_connectors.front().auth_password, "");
  // A password without a user name is refused.
  EXPECT_EQ(outcome([&] { service_->set_send_connectors({"Relay"}, {}, std::string("orphan")); }),
            "ValidationError AuthenticationCredential");
}

TEST_F(ConfigurationServiceTest, ProblemsNameABrokenSendConnector) {
  store::Configuration config = *service_->snapshot();
  store::SendConnector broken;
  broken.name = "Broken";
  broken.address_spaces = {store::AddressSpace::parse("*")};
  broken.dns_routing_enabled = false;
  config.send_connectors = {broken};
  const auto problems = ConfigurationService::problems(config);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_TRUE(problems[0].starts_with("send connector \"Broken\": DNSRoutingEnabled false needs")) << problems[0];
}

TEST_F(ConfigurationServiceTest, QueueSettingsAreStoredWithTheirRanges) {
  service_->set_transport_server({{"TransientFailureRetryInterval", {"00:00:01"}},
                                  {"MessageExpirationTimeout", {"00:00:05"}},
                                  {"MaxOutboundConnections", {"unlimited"}}});
  const auto stored = store_->load().transport_server;
  EXPECT_EQ(stored.transient_failure_retry_interval.seconds(), 1);
  EXPECT_EQ(stored.message_expiration_timeout.seconds(), 5);
  EXPECT_FALSE(stored.max_outbound_connections.has_value());
  EXPECT_EQ(outcome([&] { service_->set_transport_server({{"DelayNotificationTimeout", {"31.00:00:00"}}}); }),
            "ValidationError DelayNotificationTimeout");
  EXPECT_EQ(service_->get_transport_server().delay_notification_timeout.seconds(), 4 * 3600);
}

}  // namespace
}  // namespace transport::config
