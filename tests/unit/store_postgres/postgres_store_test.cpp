// PostgresStore against a real PostgreSQL (a private cluster started for this suite), and the contract
// both stores keep: the same defaults, every model read back as written, a failed change leaves
// nothing, updates and removals by id. PostgreSQL only: one version per change, migrations by several
// nodes at once, a newer schema refused, an unreachable server named without its password.
#include "store/postgres_store.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "store/cached_postgres_store.h"
#include "store/property.h"
#include "store/sqlite_store.h"
#include "tests/unit/support/postgres_cluster.h"
#include "tests/unit/support/store_samples.h"

namespace transport::store {
namespace {

test::PostgresCluster* cluster = nullptr;

std::string next_database() {
  static std::atomic<int> counter{0};
  return "store_test_" + std::to_string(counter++);
}

void sql(const std::string& conninfo, const std::string& statement) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  PGresult* r = PQexec(c, statement.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  const std::string error = PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error(statement + ": " + error);
}

// Every property of a model as text, by name: what "the same" means for a stored object.
template <class Model>
std::vector<std::pair<std::string, PropertyValues>> rendered(std::span<const Property<Model>> table, const Model& m) {
  std::vector<std::pair<std::string, PropertyValues>> out;
  for (const auto& p : table) out.emplace_back(std::string(p.name), p.render(m));
  return out;
}

using test::sample_connector;

SendConnector sample_send_connector() {
  SendConnector s;
  s.name = "Internet";
  s.address_spaces = {AddressSpace::parse("*;5"), AddressSpace::parse("example.org;1")};
  s.smart_hosts = {SmartHost::parse("smart.example.net:587")};
  s.dns_routing_enabled = false;
  s.require_tls = true;
  s.auth_user = "relay";
  s.auth_password = "s3cret; DROP TABLE x";
  s.smart_host_auth_mechanism = SmartHostAuthMechanism::basic_auth_require_tls;
  return s;
}

enum class Kind { sqlite, postgresql };

class ConfigurationStoreContract : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::sqlite) {
      char pattern[] = "/tmp/transport-store-contract-XXXXXX";
      ASSERT_NE(::mkdtemp(pattern), nullptr);
      dir_ = pattern;
    } else {
      conninfo_ = cluster->new_database(next_database());
    }
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<ConfigurationStore> open() const {
    if (GetParam() == Kind::sqlite) return std::make_unique<SqliteStore>(dir_ / "config.db");
    return std::make_unique<PostgresStore>(conninfo_, "MAIL01");
  }

  std::filesystem::path dir_;
  std::string conninfo_;
};

TEST_P(ConfigurationStoreContract, CreatedOnceThenOpened) {
  EXPECT_TRUE(open()->created());
  EXPECT_FALSE(open()->created());
}

TEST_P(ConfigurationStoreContract, EveryModelRoundTrips) {
  ReceiveConnector connector = sample_connector();
  SendConnector send = sample_send_connector();
  AcceptedDomain domain;
  domain.name = "Example";
  domain.domain_name = "example.com";
  domain.is_default = true;
  Mailbox mailbox;
  mailbox.primary_smtp_address = "alice@example.com";
  mailbox.email_addresses = {"al@example.com", "a.l@example.com"};
  mailbox.display_name = "Alice Ünïcode";
  mailbox.password_hash = "$argon2id$fake";
  RecipientFilterConfig filter;
  filter.block_list_enabled = true;
  filter.blocked_recipients = {"x@example.com"};
  TransportServerSettings settings;
  settings.message_expiration_timeout = TimeSpan::from_seconds(3600);
  settings.max_outbound_connections = std::nullopt;
  HarvestDefenceConfig harvest;
  harvest.enabled = false;
  {
    auto store = open();
    store->transact([&](StoreTransaction& t) {
      t.set_host_name("MAIL01");
      t.put(connector);
      t.put(send);
      t.put(domain);
      t.put(mailbox);
      t.put(filter);
      t.put(settings);
      t.put(harvest);
    });
    EXPECT_NE(connector.id, 0);
    EXPECT_NE(send.id, 0);
  }
  const Configuration config = open()->load();
  EXPECT_EQ(config.host_name, "MAIL01");
  ASSERT_EQ(config.connectors.size(), 1u);
  EXPECT_EQ(config.connectors[0].id, connector.id);
  EXPECT_EQ(rendered(receive_connector_properties(), config.connectors[0]),
            rendered(receive_connector_properties(), connector));
  ASSERT_EQ(config.send_connectors.size(), 1u);
  EXPECT_EQ(rendered(send_connector_properties(), config.send_connectors[0]), rendered(send_connector_properties(), send));
  EXPECT_EQ(config.send_connectors[0].auth_password, send.auth_password);
  ASSERT_EQ(config.accepted_domains.size(), 1u);
  EXPECT_EQ(rendered(accepted_domain_properties(), config.accepted_domains[0]), rendered(accepted_domain_properties(), domain));
  ASSERT_EQ(config.mailboxes.size(), 1u);
  EXPECT_EQ(rendered(mailbox_properties(), config.mailboxes[0]), rendered(mailbox_properties(), mailbox));
  EXPECT_EQ(config.mailboxes[0].password_hash, mailbox.password_hash);
  EXPECT_EQ(rendered(recipient_filter_properties(), config.recipient_filter), rendered(recipient_filter_properties(), filter));
  EXPECT_EQ(rendered(transport_server_properties(), config.transport_server), rendered(transport_server_properties(), settings));
  EXPECT_EQ(rendered(harvest_defence_properties(), config.harvest_defence), rendered(harvest_defence_properties(), harvest));
}

TEST_P(ConfigurationStoreContract, AFailedChangeLeavesNothing) {
  auto store = open();
  EXPECT_THROW(store->transact([](StoreTransaction& t) {
    ReceiveConnector c = sample_connector();
    t.put(c);
    throw std::runtime_error("validation failed halfway");
  }),
               std::runtime_error);
  EXPECT_TRUE(store->load().connectors.empty());
  // The store is still usable after the rollback.
  ReceiveConnector c = sample_connector();
  store->transact([&](StoreTransaction& t) { t.put(c); });
  EXPECT_EQ(store->load().connectors.size(), 1u);
}

TEST_P(ConfigurationStoreContract, TheDatabaseRefusesASecondObjectOfTheSameName) {
  auto store = open();
  ReceiveConnector first = sample_connector();
  store->transact([&](StoreTransaction& t) { t.put(first); });
  ReceiveConnector second = sample_connector();
  second.name = "default mail01";  // names compare without case
  EXPECT_THROW(store->transact([&](StoreTransaction& t) { t.put(second); }), StoreError);
  EXPECT_EQ(store->load().connectors.size(), 1u);
}

TEST_P(ConfigurationStoreContract, UpdatesAndRemovesById) {
  auto store = open();
  ReceiveConnector c = sample_connector();
  Mailbox m;
  m.primary_smtp_address = "bob@example.com";
  store->transact([&](StoreTransaction& t) {
    t.put(c);
    t.put(m);
  });
  c.tarpit_interval = TimeSpan::from_seconds(0);
  m.password_hash = "changed";
  store->transact([&](StoreTransaction& t) {
    t.put(c);
    t.put(m);
  });
  Configuration config = store->load();
  EXPECT_EQ(config.connectors.at(0).tarpit_interval.seconds(), 0);
  EXPECT_EQ(config.mailboxes.at(0).password_hash, "changed");
  store->transact([&](StoreTransaction& t) {
    t.remove_connector(c.id);
    t.remove_mailbox(m.id);
  });
  config = store->load();
  EXPECT_TRUE(config.connectors.empty());
  EXPECT_TRUE(config.mailboxes.empty());
}

INSTANTIATE_TEST_SUITE_P(BothStores, ConfigurationStoreContract, ::testing::Values(Kind::sqlite, Kind::postgresql),
                         [](const ::testing::TestParamInfo<Kind>& info) {
                           return info.param == Kind::sqlite ? std::string("Sqlite") : std::string("Postgres");
                         });

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { conninfo_ = cluster->new_database(next_database()); }
  std::string conninfo_;
};

TEST_F(PostgresStoreTest, ANewStoreHoldsTheSameDefaultsAsANewSqliteFile) {
  char pattern[] = "/tmp/transport-store-defaults-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::filesystem::path dir = pattern;
  const Configuration from_sqlite = SqliteStore(dir / "config.db").load();
  std::filesystem::remove_all(dir);
  const Configuration from_postgres = PostgresStore(conninfo_, "MAIL01").load();
  EXPECT_EQ(rendered(recipient_filter_properties(), from_postgres.recipient_filter),
            rendered(recipient_filter_properties(), from_sqlite.recipient_filter));
  EXPECT_EQ(rendered(transport_server_properties(), from_postgres.transport_server),
            rendered(transport_server_properties(), from_sqlite.transport_server));
  EXPECT_EQ(rendered(harvest_defence_properties(), from_postgres.harvest_defence),
            rendered(harvest_defence_properties(), from_sqlite.harvest_defence));
  EXPECT_TRUE(from_postgres.connectors.empty() && from_postgres.mailboxes.empty() &&
              from_postgres.accepted_domains.empty() && from_postgres.send_connectors.empty());
}

TEST_F(PostgresStoreTest, EachCommittedChangeCountsOneVersion) {
  PostgresStore store(conninfo_, "MAIL01");
  EXPECT_EQ(store.version(), 0);
  Mailbox m;
  m.primary_smtp_address = "carol@example.com";
  store.transact([&](StoreTransaction& t) { t.put(m); });
  EXPECT_EQ(store.version(), 1);
  EXPECT_THROW(store.transact([](StoreTransaction&) { throw std::runtime_error("refused"); }), std::runtime_error);
  EXPECT_EQ(store.version(), 1) << "a rolled-back change is no version";
  PostgresStore other(conninfo_, "MAIL01");
  EXPECT_EQ(other.version(), 1) << "every node sees the same count";
}

TEST_F(PostgresStoreTest, NodesStartingTogetherMigrateOnce) {
  std::vector<std::thread> nodes;
  std::atomic<int> created{0}, failed{0};
  for (int i = 0; i < 4; ++i) {
    nodes.emplace_back([&, i] {
      try {
        if (PostgresStore(conninfo_, "MAIL0" + std::to_string(i)).created()) ++created;
      } catch (const StoreError&) {
        ++failed;
      }
    });
  }
  for (auto& n : nodes) n.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(created.load(), 1);
}

TEST_F(PostgresStoreTest, ASchemaFromANewerTransportdIsRefused) {
  { PostgresStore store(conninfo_, "MAIL01"); }
  sql(conninfo_, "UPDATE transportd_schema SET version = 99");
  try {
    PostgresStore store(conninfo_, "MAIL01");
    FAIL() << "opened a newer schema";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 99"), std::string::npos) << e.what();
  }
}

TEST_F(PostgresStoreTest, AnUnreachableServerIsNamedWithoutItsPassword) {
  const std::string conninfo = "postgresql://transportd:hunter2@127.0.0.1:1/config?connect_timeout=2";
  try {
    PostgresStore store(conninfo, "MAIL01");
    FAIL() << "connected to port 1";
  } catch (const StoreError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cannot reach the configuration store postgresql://transportd@127.0.0.1:1/config"),
              std::string::npos)
        << what;
    EXPECT_EQ(what.find("hunter2"), std::string::npos) << what;
  }
  EXPECT_EQ(PostgresStore::describe("host=db1 port=5433 dbname=cfg user=t password=x"), "postgresql://t@db1:5433/cfg");
}

TEST_F(PostgresStoreTest, AListeningNodeHearsEveryCommittedChangeAndNoRolledBackOne) {
  PostgresStore writer(conninfo_, "MAIL01");
  PostgresChangeListener listener(conninfo_);
  std::string error;
  PostgresChangeListener::Heard heard = listener.wait(std::chrono::milliseconds(0), error);
  ASSERT_TRUE(heard.connected) << error;
  EXPECT_TRUE(heard.reconnected) << "the first connection: load the snapshot once";
  EXPECT_EQ(heard.version, 0);

  EXPECT_THROW(writer.transact([](StoreTransaction&) { throw std::runtime_error("refused"); }), std::runtime_error);
  heard = listener.wait(std::chrono::milliseconds(300), error);
  EXPECT_EQ(heard.version, 0) << "a rolled-back change is not announced";
  EXPECT_FALSE(heard.reconnected);

  Mailbox m;
  m.primary_smtp_address = "dave@example.com";
  const auto committed = std::chrono::steady_clock::now();
  writer.transact([&](StoreTransaction& t) { t.put(m); });
  heard = listener.wait(std::chrono::seconds(5), error);
  EXPECT_LT(std::chrono::steady_clock::now() - committed, std::chrono::seconds(1));
  EXPECT_EQ(heard.version, 1);

  // Two changes before the node looks again: it hears the newest.
  writer.transact([&](StoreTransaction& t) { t.remove_mailbox(m.id); });
  Mailbox again;
  again.primary_smtp_address = "erin@example.com";
  writer.transact([&](StoreTransaction& t) { t.put(again); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::int64_t newest = 0;
  while (newest < 3 && std::chrono::steady_clock::now() < deadline) {
    newest = std::max(newest, listener.wait(std::chrono::milliseconds(200), error).version);
  }
  EXPECT_EQ(newest, 3);
}

TEST_F(PostgresStoreTest, AListenerSaysWhenTheStoreIsGoneAndReconnectsWhenItIsBack) {
  PostgresChangeListener listener(conninfo_);
  std::string error;
  ASSERT_TRUE(listener.wait(std::chrono::milliseconds(0), error).connected) << error;
  cluster->stop();
  PostgresChangeListener::Heard heard;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    heard = listener.wait(std::chrono::milliseconds(200), error);
  } while (heard.connected && std::chrono::steady_clock::now() < deadline);
  cluster->start();
  EXPECT_FALSE(heard.connected);
  EXPECT_NE(error.find("configuration store postgresql://transportd@127.0.0.1:"), std::string::npos) << error;
  error.clear();
  heard = listener.wait(std::chrono::milliseconds(0), error);
  EXPECT_TRUE(heard.connected) << error;
  EXPECT_TRUE(heard.reconnected) << "changes made while it was away must be loaded";
}

TEST_F(PostgresStoreTest, ReceiveConnectorsBelongToTheirServerEverythingElseIsShared) {
  PostgresStore a(conninfo_, "MAIL01");
  PostgresStore b(conninfo_, "MAIL02");
  EXPECT_EQ(a.load().host_name, "") << "not registered yet: a first start";
  ReceiveConnector on_a = sample_connector();
  on_a.name = "Relay";
  Mailbox shared;
  shared.primary_smtp_address = "frank@example.com";
  a.transact([&](StoreTransaction& t) {
    t.set_host_name("MAIL01");
    t.put(on_a);
    t.put(shared);
  });
  ReceiveConnector on_b = sample_connector();
  on_b.name = "relay";  // the same name on another server is another connector
  on_b.tarpit_interval = TimeSpan::from_seconds(1);
  b.transact([&](StoreTransaction& t) {
    t.set_host_name("MAIL02");
    t.put(on_b);
  });

  const Configuration seen_by_a = a.load();
  EXPECT_EQ(seen_by_a.host_name, "MAIL01");
  ASSERT_EQ(seen_by_a.connectors.size(), 1u);
  EXPECT_EQ(seen_by_a.connectors[0].name, "Relay");
  EXPECT_EQ(seen_by_a.connectors[0].tarpit_interval.seconds(), 10);
  ASSERT_EQ(seen_by_a.other_servers.size(), 1u);
  EXPECT_EQ(seen_by_a.other_servers[0].server, "MAIL02");
  ASSERT_EQ(seen_by_a.other_servers[0].connectors.size(), 1u);
  EXPECT_EQ(seen_by_a.other_servers[0].connectors[0].tarpit_interval.seconds(), 1);

  const Configuration seen_by_b = b.load();
  EXPECT_EQ(seen_by_b.host_name, "MAIL02");
  ASSERT_EQ(seen_by_b.connectors.size(), 1u);
  EXPECT_EQ(seen_by_b.connectors[0].name, "relay");
  ASSERT_EQ(seen_by_b.other_servers.size(), 1u);
  EXPECT_EQ(seen_by_b.other_servers[0].server, "MAIL01");
  ASSERT_EQ(seen_by_b.mailboxes.size(), 1u) << "mailboxes are organisation-wide";
  EXPECT_EQ(seen_by_b.mailboxes[0].primary_smtp_address, "frank@example.com");

  // Registering again (a restart) changes nothing; a name taken on this server is refused.
  b.transact([&](StoreTransaction& t) { t.set_host_name("MAIL02"); });
  ReceiveConnector twice = on_b;
  twice.id = 0;
  twice.name = "RELAY";
  EXPECT_THROW(b.transact([&](StoreTransaction& t) { t.put(twice); }), StoreError);

  // MAIL01 changes MAIL02's connector (by id): it stays MAIL02's. A registered server without
  // connectors is a server too.
  ReceiveConnector changed_by_a = seen_by_a.other_servers[0].connectors[0];
  changed_by_a.tarpit_interval = TimeSpan::from_seconds(3);
  a.transact([&](StoreTransaction& t) { t.put(changed_by_a); });
  PostgresStore c(conninfo_, "MAIL03");
  c.transact([&](StoreTransaction& t) { t.set_host_name("MAIL03"); });
  const Configuration after = b.load();
  ASSERT_EQ(after.connectors.size(), 1u);
  EXPECT_EQ(after.connectors[0].tarpit_interval.seconds(), 3);
  ASSERT_EQ(after.other_servers.size(), 2u);
  EXPECT_EQ(after.other_servers[1].server, "MAIL03");
  EXPECT_TRUE(after.other_servers[1].connectors.empty());
  a.transact([&](StoreTransaction& t) { t.remove_connector(changed_by_a.id); });
  EXPECT_TRUE(b.load().connectors.empty());
  EXPECT_EQ(a.load().connectors.size(), 1u) << "MAIL01's own is still there";
}

// A connection lost during COMMIT (here: the server ends it from a deferred trigger, which runs at
// COMMIT) is not "nothing was changed": the node says it cannot know.
TEST_F(PostgresStoreTest, AConnectionLostWhileCommittingIsNotReportedAsNothingChanged) {
  char pattern[] = "/tmp/transport-store-commit-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::filesystem::path dir = pattern;
  CachedPostgresStore node(conninfo_, "MAIL01", dir / "config-cache.db");
  node.transact([](StoreTransaction& t) { t.set_host_name("MAIL01"); });
  sql(conninfo_,
      "CREATE FUNCTION end_my_connection() RETURNS trigger LANGUAGE plpgsql AS "
      "$$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$; "
      "CREATE CONSTRAINT TRIGGER end_at_commit AFTER UPDATE ON config_version DEFERRABLE INITIALLY DEFERRED "
      "FOR EACH ROW EXECUTE FUNCTION end_my_connection()");
  Mailbox m;
  m.primary_smtp_address = "ida@example.com";
  std::string error;
  try {
    node.transact([&](StoreTransaction& t) { t.put(m); });
  } catch (const StoreUnreachable& e) {
    error = e.what();
  }
  EXPECT_NE(error.find("may or may not have been made"), std::string::npos) << error;
  EXPECT_EQ(error.find("nothing was changed"), std::string::npos) << error;
  sql(conninfo_, "DROP TRIGGER end_at_commit ON config_version");
  // Read again, the store says what happened (here the server ended the transaction before committing).
  EXPECT_TRUE(node.load().mailboxes.empty());
  node.flush_copy();
  std::filesystem::remove_all(dir);
}

TEST_F(PostgresStoreTest, ANodeServesItsLocalCopyWhileTheStoreIsDownAndTakesNoChange) {
  char pattern[] = "/tmp/transport-store-cache-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::filesystem::path dir = pattern;
  const std::filesystem::path copy = dir / "config-cache.db";
  {
    CachedPostgresStore node("postgresql://transportd@127.0.0.1:1/none?connect_timeout=2", "MAIL01", copy);
    try {
      node.load();
      FAIL() << "loaded with neither PostgreSQL nor a copy";
    } catch (const StoreUnreachable& e) {
      EXPECT_NE(std::string(e.what()).find("no copy of the configuration yet"), std::string::npos) << e.what();
    }
  }
  CachedPostgresStore node(conninfo_, "MAIL01", copy);
  Mailbox m;
  m.primary_smtp_address = "gina@example.com";
  node.transact([&](StoreTransaction& t) {
    t.set_host_name("MAIL01");
    t.put(m);
  });
  ASSERT_EQ(node.load().mailboxes.size(), 1u);
  EXPECT_TRUE(node.reachable());
  node.flush_copy();  // written behind the snapshot served
  EXPECT_TRUE(std::filesystem::exists(copy));

  cluster->stop();
  const Configuration served = node.load();
  Mailbox refused;
  refused.primary_smtp_address = "hank@example.com";
  std::string error;
  try {
    node.transact([&](StoreTransaction& t) { t.put(refused); });
  } catch (const StoreUnreachable& e) {
    error = e.what();
  }
  cluster->start();
  EXPECT_FALSE(node.reachable());
  EXPECT_EQ(served.host_name, "MAIL01");
  ASSERT_EQ(served.mailboxes.size(), 1u) << "the copy";
  EXPECT_EQ(served.mailboxes[0].primary_smtp_address, "gina@example.com");
  EXPECT_EQ(served.version, 1);
  EXPECT_NE(error.find("is unreachable"), std::string::npos) << error;
  EXPECT_NE(error.find("nothing was changed"), std::string::npos) << error;

  // Back: the next load is PostgreSQL's again, and a change goes through.
  EXPECT_EQ(node.load().mailboxes.size(), 1u);
  EXPECT_TRUE(node.reachable());
  node.transact([&](StoreTransaction& t) { t.put(refused); });
  EXPECT_EQ(node.load().mailboxes.size(), 2u);
  node.flush_copy();  // not removed under the writer's feet
  std::filesystem::remove_all(dir);
}

class ClusterEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { cluster = new test::PostgresCluster(); }
  void TearDown() override {
    delete cluster;
    cluster = nullptr;
  }
};

const auto* const environment = ::testing::AddGlobalTestEnvironment(new ClusterEnvironment);

}  // namespace
}  // namespace transport::store
