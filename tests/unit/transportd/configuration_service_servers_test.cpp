// Receive connectors of other servers (DESIGN §12): which servers --server names, HOST\Name identities
// across servers, and changes to another server's connector held to that server's connectors only.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "store/sqlite_store.h"
#include "store/value_error.h"
#include "transportd/admin/admin_service.h"
#include "transportd/config/admin_error.h"
#include "transportd/config/change_caller.h"
#include "transportd/config/configuration_service.h"

namespace transport::config {
namespace {

using store::ReceiveConnector;
using store::ServerConnectors;

// This node's configuration in a real SQLite file, and other servers' connectors in memory as a fleet's
// shared store gives them: other_servers on load, their rows updated and removed by id in a change.
class StoreWithOtherServers final : public store::ConfigurationStore {
 public:
  StoreWithOtherServers(store::ConfigurationStore& own, std::vector<ServerConnectors> others)
      : own_(own), others_(std::move(others)) {}
  bool created() const override { return own_.created(); }
  store::Configuration load() const override {
    store::Configuration config = own_.load();
    config.other_servers = others_;
    return config;
  }
  using store::ConfigurationStore::transact;
  std::int64_t transact(const std::function<void(store::StoreTransaction&)>& change, std::int64_t based_on) override {
    std::vector<ServerConnectors> others = others_;  // kept only when the change commits
    const std::int64_t version = own_.transact(
        [&](store::StoreTransaction& t) {
          Routed routed(t, others);
          change(routed);
        },
        based_on);
    others_ = std::move(others);
    return version;
  }
  const std::vector<ServerConnectors>& others() const { return others_; }

 private:
  class Routed final : public store::StoreTransaction {
   public:
    Routed(store::StoreTransaction& own, std::vector<ServerConnectors>& others) : own_(own), others_(others) {}
    void set_host_name(const std::string& host_name) override { own_.set_host_name(host_name); }
    void put(ReceiveConnector& c) override {
      if (ReceiveConnector* row = other(c.id)) {
        *row = c;
      } else {
        own_.put(c);
      }
    }
    void put(store::SendConnector& c) override { own_.put(c); }
    void put(store::AcceptedDomain& d) override { own_.put(d); }
    void put(store::Mailbox& m) override { own_.put(m); }
    void put(const store::RecipientFilterConfig& f) override { own_.put(f); }
    void put(const store::TransportServerSettings& s) override { own_.put(s); }
    void put(const store::HarvestDefenceConfig& h) override { own_.put(h); }
    void remove_connector(std::int64_t id) override {
      for (auto& server : others_) {
        std::erase_if(server.connectors, [id](const ReceiveConnector& c) { return c.id == id; });
      }
      own_.remove_connector(id);
    }
    void remove_send_connector(std::int64_t id) override { own_.remove_send_connector(id); }
    void remove_accepted_domain(std::int64_t id) override { own_.remove_accepted_domain(id); }
    void remove_mailbox(std::int64_t id) override { own_.remove_mailbox(id); }

   private:
    ReceiveConnector* other(std::int64_t id) {
      for (auto& server : others_) {
        for (auto& c : server.connectors) {
          if (c.id != 0 && c.id == id) return &c;
        }
      }
      return nullptr;
    }
    store::StoreTransaction& own_;
    std::vector<ServerConnectors>& others_;
  };

  store::ConfigurationStore& own_;
  std::vector<ServerConnectors> others_;
};

ReceiveConnector connector(std::int64_t id, const std::string& name, const std::string& binding,
                           const std::string& range) {
  ReceiveConnector c;
  c.id = id;  // far above this node's SQLite rows: ids are unique across a fleet's servers
  c.name = name;
  c.bindings = {store::Binding::parse(binding)};
  c.remote_ip_ranges = {store::IpRange::parse(range)};
  c.fqdn = "mail02.example.com";
  return c;
}

class OtherServersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/transport-servers-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    own_ = std::make_unique<store::SqliteStore>(dir_ / "config.db");
    // MAIL02 has two connectors on one Binding with nested ranges; MAIL03 has none (a server still).
    store_ = std::make_unique<StoreWithOtherServers>(
        *own_, std::vector<ServerConnectors>{
                   {"MAIL02",
                    {connector(1001, "Relay", "0.0.0.0:25", "10.0.0.0/16"),
                     connector(1002, "Partners", "0.0.0.0:25", "10.0.1.0/24")}},
                   {"MAIL03", {}}});
    service_ = std::make_unique<ConfigurationService>(*store_, "MAIL01", std::vector<std::string>{"127.0.0.1:2525"});
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    own_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::vector<std::string> identities_of(const std::vector<ReceiveConnector>& connectors) {
    std::vector<std::string> out;
    for (const auto& c : connectors) out.push_back(ConfigurationService::identity(*service_->snapshot(), c));
    return out;
  }
  const ReceiveConnector& on_mail02(const std::string& name) {
    const auto& list = store_->others().front().connectors;
    return *std::find_if(list.begin(), list.end(), [&](const ReceiveConnector& c) { return c.name == name; });
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::SqliteStore> own_;
  std::unique_ptr<StoreWithOtherServers> store_;
  std::unique_ptr<ConfigurationService> service_;
};

TEST_F(OtherServersTest, WithoutServersTheNodeAskedIsShown) {
  EXPECT_EQ(identities_of(service_->get_connectors({})), std::vector<std::string>{"MAIL01\\Default MAIL01"});
  EXPECT_THROW(service_->get_connectors({"Relay"}), AdminError) << "a bare name is this node's";
}

TEST_F(OtherServersTest, ServersAreNamedInAnyCaseOrByAGlob) {
  EXPECT_EQ(identities_of(service_->get_connectors({}, "mail02")),
            (std::vector<std::string>{"MAIL02\\Relay", "MAIL02\\Partners"}));
  EXPECT_EQ(identities_of(service_->get_connectors({}, "*")),
            (std::vector<std::string>{"MAIL01\\Default MAIL01", "MAIL02\\Relay", "MAIL02\\Partners"}))
      << "this node first, then the others by name";
  EXPECT_EQ(identities_of(service_->get_connectors({"p*"}, "MAIL0?")), std::vector<std::string>{"MAIL02\\Partners"});
  EXPECT_TRUE(service_->get_connectors({}, "MAIL03").empty()) << "a server without connectors exists";
  EXPECT_EQ(ConfigurationService::servers(*service_->snapshot()), (std::vector<std::string>{"MAIL01", "MAIL02", "MAIL03"}));
}

TEST_F(OtherServersTest, AnUnknownServerIsNotFoundNamingTheServersThereAre) {
  try {
    service_->get_connectors({}, "MAIL09");
    FAIL() << "MAIL09 is no server";
  } catch (const AdminError& e) {
    EXPECT_EQ(e.kind(), AdminError::Kind::not_found);
    EXPECT_STREQ(e.what(), "no server matches \"MAIL09\": the servers are MAIL01, MAIL02, MAIL03");
  }
  EXPECT_THROW(service_->get_connectors({"Relay"}, "MAIL01"), AdminError) << "Relay is MAIL02's, not MAIL01's";
}

TEST_F(OtherServersTest, AHostIdentityFindsThatServersConnector) {
  EXPECT_EQ(identities_of(service_->get_connectors({"mail02\\relay"})), std::vector<std::string>{"MAIL02\\Relay"});
  EXPECT_EQ(identities_of(service_->get_connectors({"*\\Default*", "*\\Relay"})),
            (std::vector<std::string>{"MAIL01\\Default MAIL01", "MAIL02\\Relay"}));
  EXPECT_EQ(ConfigurationService::server_of(*service_->snapshot(), on_mail02("Relay")), "MAIL02");
}

TEST_F(OtherServersTest, AChangeToAnotherServersConnectorWritesItsRow) {
  int published = 0;
  service_->on_change([&](const store::ConfigurationPtr&) { ++published; });
  const auto changed = service_->set_connectors({"MAIL02\\Relay"}, {{"TarpitInterval", {"00:00:09"}}});
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(on_mail02("Relay").tarpit_interval.seconds(), 9);
  EXPECT_EQ(service_->snapshot()->other_servers[0].connectors[0].tarpit_interval.seconds(), 9);
  EXPECT_EQ(service_->snapshot()->connectors[0].tarpit_interval.seconds(), 5) << "this node's is untouched";
  EXPECT_EQ(published, 1);

  service_->set_connectors({"*"}, {{"TarpitInterval", {"00:00:02"}}});
  EXPECT_EQ(on_mail02("Relay").tarpit_interval.seconds(), 9) << "a bare '*' is this node's connectors";

  EXPECT_EQ(service_->remove_connectors({"MAIL02\\Partners"}), std::vector<std::string>{"MAIL02\\Partners"});
  ASSERT_EQ(store_->others().front().connectors.size(), 1u);
  EXPECT_EQ(service_->snapshot()->other_servers[0].connectors.size(), 1u);
}

TEST_F(OtherServersTest, AnotherServersConnectorIsCheckedAgainstThatServersConnectors) {
  // Partners' range partially overlapping Relay's on MAIL02's 0.0.0.0:25: refused, naming Relay.
  try {
    service_->set_connectors({"MAIL02\\Partners"}, {{"RemoteIPRanges", {"10.0.255.0-10.1.0.255"}}});
    FAIL() << "a partial overlap on MAIL02";
  } catch (const AdminError& e) {
    EXPECT_EQ(e.kind(), AdminError::Kind::conflict);
    EXPECT_NE(std::string(e.what()).find("Relay"), std::string::npos) << e.what();
  }
  EXPECT_THROW(service_->set_connectors({"MAIL02\\Partners"}, {{"Name", {"relay"}}}), AdminError);
  EXPECT_EQ(on_mail02("Partners").remote_ip_ranges.size(), 1u) << "nothing changed";

  // What MAIL01 has is no conflict for MAIL02: the same Binding and range, even the same name.
  const auto same_as_mine = service_->set_connectors(
      {"MAIL02\\Relay"}, {{"Name", {"Default MAIL01"}}, {"Bindings", {"127.0.0.1:2525"}},
                          {"RemoteIPRanges", {"0.0.0.0-255.255.255.255"}}});
  EXPECT_EQ(identities_of(same_as_mine), std::vector<std::string>{"MAIL02\\Default MAIL01"});

  // And MAIL01's own connectors are held to MAIL01's only.
  EXPECT_NO_THROW(service_->new_connector(
      {{"Name", {"Partners"}}, {"Bindings", {"0.0.0.0:25"}}, {"RemoteIPRanges", {"10.0.255.0-10.1.0.255"}}}));
}

TEST_F(OtherServersTest, AWhatIfOnAnotherServerChangesNothing) {
  const ChangeCaller caller([] { return false; }, /*what_if=*/true);
  const auto would_be = service_->set_connectors({"MAIL02\\Relay"}, {{"TarpitInterval", {"00:00:09"}}});
  EXPECT_EQ(would_be.at(0).tarpit_interval.seconds(), 9);
  EXPECT_EQ(on_mail02("Relay").tarpit_interval.seconds(), 5);
  EXPECT_EQ(service_->snapshot()->other_servers[0].connectors[0].tarpit_interval.seconds(), 5);
}

TEST_F(OtherServersTest, TheAdminApiShowsAnotherServersConnectorsAndTheirBindings) {
  admin::AdminService admin(*service_, [](const ReceiveConnector&, const store::Binding&) { return "listening"; });
  grpc::ServerContext context;
  admin::v1::GetReceiveConnectorRequest request;
  request.set_server("Mail02");
  request.add_identities("Relay");
  admin::v1::ReceiveConnectorList list;
  ASSERT_TRUE(admin.GetReceiveConnector(&context, &request, &list).ok());
  ASSERT_EQ(list.connectors_size(), 1);
  EXPECT_EQ(list.connectors(0).identity(), "MAIL02\\Relay");
  EXPECT_EQ(list.connectors(0).binding_status(0), "0.0.0.0:25 on MAIL02 (its listener is known there only)");

  request.set_server("MAIL09");
  list.Clear();
  const grpc::Status unknown = admin.GetReceiveConnector(&context, &request, &list);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);

  admin::v1::RemoveRequest remove;
  remove.add_identities("MAIL02\\*");
  remove.set_what_if(true);
  admin::v1::RemoveResponse removed;
  ASSERT_TRUE(admin.RemoveReceiveConnector(&context, &remove, &removed).ok());
  EXPECT_EQ(removed.removed_size(), 2);
  ASSERT_EQ(removed.emptied_bindings_size(), 1);
  EXPECT_EQ(removed.emptied_bindings(0), "0.0.0.0:25 on MAIL02");
}

// With SQLite alone there is one server: this node.
TEST(OneServer, OnlyThisNodeIsAServer) {
  char pattern[] = "/tmp/transport-servers-test-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::filesystem::path dir = pattern;
  {
    store::SqliteStore store(dir / "config.db");
    ConfigurationService service(store, "MAIL01", {"127.0.0.1:2525"});
    EXPECT_EQ(service.get_connectors({}, "mail01").size(), 1u);
    try {
      service.get_connectors({}, "MAIL02");
      ADD_FAILURE() << "MAIL02 is no server";
    } catch (const AdminError& e) {
      EXPECT_STREQ(e.what(), "no server matches \"MAIL02\": the only server is MAIL01");
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace transport::config
