// SqliteStore on a real file: schema creation and version, round trips through the property tables,
// rollback on failure, refusal of a newer schema and of files that are not sound databases, and the
// read-only access of --check-config.
#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "store/property.h"
#include "store/schema_migrations.h"
#include "tests/unit/support/store_samples.h"

namespace transport::store {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/transport-store-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path db() const { return dir_ / "config.db"; }
  std::filesystem::path dir_;
};

using test::sample_connector;

TEST_F(SqliteStoreTest, CreatesTheSchemaOnceAndReportsIt) {
  {
    SqliteStore store(db());
    EXPECT_TRUE(store.created());
    EXPECT_EQ(store.schema_version(), static_cast<int>(schema_migrations().size()));
  }
  SqliteStore again(db());
  EXPECT_FALSE(again.created());
}

TEST_F(SqliteStoreTest, EveryModelRoundTrips) {
  {
    SqliteStore store(db());
    store.transact([](StoreTransaction& t) {
      t.set_host_name("MAIL01");
      ReceiveConnector c = sample_connector();
      t.put(c);
      EXPECT_NE(c.id, 0);
      AcceptedDomain d;
      d.name = "example.com";
      d.domain_name = "example.com";
      d.is_default = true;
      t.put(d);
      Mailbox m;
      m.primary_smtp_address = "alice@example.com";
      m.email_addresses = {"al@example.com"};
      m.display_name = "Alice";
      m.password_hash = "$argon2id$fake";
      t.put(m);
      RecipientFilterConfig filter;
      filter.block_list_enabled = true;
      filter.blocked_recipients = {"x@example.com"};
      t.put(filter);
    });
  }
  SqliteStore store(db());
  Configuration config = store.load();
  EXPECT_EQ(config.host_name, "MAIL01");
  ASSERT_EQ(config.connectors.size(), 1u);
  const ReceiveConnector& c = config.connectors.front();
  EXPECT_EQ(c.name, "Default MAIL01");
  EXPECT_EQ(c.bindings, sample_connector().bindings);
  EXPECT_EQ(c.tarpit_interval.seconds(), 10);
  EXPECT_FALSE(c.max_inbound_connection.has_value());
  EXPECT_EQ(c.comment, sample_connector().comment);
  ASSERT_EQ(config.accepted_domains.size(), 1u);
  EXPECT_TRUE(config.accepted_domains.front().is_default);
  ASSERT_EQ(config.mailboxes.size(), 1u);
  EXPECT_EQ(config.mailboxes.front().email_addresses, std::vector<std::string>{"al@example.com"});
  EXPECT_EQ(config.mailboxes.front().password_hash, "$argon2id$fake");
  EXPECT_TRUE(config.recipient_filter.block_list_enabled);
  EXPECT_EQ(config.recipient_filter.blocked_recipients, std::vector<std::string>{"x@example.com"});
}

TEST_F(SqliteStoreTest, AFailedTransactionChangesNothing) {
  SqliteStore store(db());
  EXPECT_THROW(store.transact([](StoreTransaction& t) {
    ReceiveConnector c = sample_connector();
    t.put(c);
    throw std::runtime_error("validation failed halfway");
  }),
               std::runtime_error);
  EXPECT_TRUE(store.load().connectors.empty());
}

TEST_F(SqliteStoreTest, UpdatesAndRemovesById) {
  SqliteStore store(db());
  ReceiveConnector c = sample_connector();
  store.transact([&](StoreTransaction& t) { t.put(c); });
  c.tarpit_interval = TimeSpan::from_seconds(0);
  store.transact([&](StoreTransaction& t) { t.put(c); });
  EXPECT_EQ(store.load().connectors.front().tarpit_interval.seconds(), 0);
  store.transact([&](StoreTransaction& t) { t.remove_connector(c.id); });
  EXPECT_TRUE(store.load().connectors.empty());
}

TEST_F(SqliteStoreTest, UsesWalAndRefusesANewerSchema) {
  { SqliteStore store(db()); }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &stmt, nullptr);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_exec(raw, "PRAGMA user_version = 999", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  try {
    SqliteStore store(db());
    ADD_FAILURE() << "opened a newer schema";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
}

std::string error_of(const std::filesystem::path& path, SqliteStore::Access access = SqliteStore::Access::read_write) {
  try {
    SqliteStore store(path, access);
  } catch (const StoreError& e) {
    return e.what();
  }
  return "";
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// What a failed copy or restore leaves must stop the start, never be taken for a first start.
TEST_F(SqliteStoreTest, AnEmptyFileIsRefusedAndLeftAlone) {
  write_file(db(), "");
  const std::string error = error_of(db());
  EXPECT_NE(error.find(db().string()), std::string::npos) << error;
  EXPECT_NE(error.find("empty (0 bytes)"), std::string::npos) << error;
  EXPECT_EQ(std::filesystem::file_size(db()), 0u);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "config.db-wal"));
}

TEST_F(SqliteStoreTest, AFileThatIsNotSqliteIsRefusedAndLeftAlone) {
  const std::string garbage(8192, 'x');
  write_file(db(), garbage);
  const std::string error = error_of(db());
  EXPECT_NE(error.find(db().string()), std::string::npos) << error;
  EXPECT_NE(error.find("cannot be read as an SQLite database"), std::string::npos) << error;
  EXPECT_EQ(read_file(db()), garbage);
}

TEST_F(SqliteStoreTest, AnSqliteDatabaseWithoutOurSchemaIsRefused) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "CREATE TABLE notes (text TEXT)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  const std::string error = error_of(db());
  EXPECT_NE(error.find("not a transportd configuration"), std::string::npos) << error;
}

// SQLite's quick_check runs at every open: a damaged page stops the start.
TEST_F(SqliteStoreTest, ADamagedDatabaseIsRefused) {
  {
    SqliteStore store(db());
    store.transact([](StoreTransaction& t) {
      for (int i = 0; i < 200; ++i) {
        Mailbox m;
        m.primary_smtp_address = "user" + std::to_string(i) + "@example.com";
        m.display_name = std::string(100, 'n');
        t.put(m);
      }
    });
  }
  std::string bytes = read_file(db());
  ASSERT_GT(bytes.size(), 5u * 4096);
  const std::size_t last_page = bytes.size() - 4096;  // a page of mailbox rows or their index
  for (std::size_t i = last_page; i < last_page + 100; ++i) bytes[i] = '\xA5';  // its header and cell pointers
  write_file(db(), bytes);
  const std::string error = error_of(db());
  EXPECT_NE(error.find(db().string()), std::string::npos) << error;
  EXPECT_TRUE(error.find("damaged") != std::string::npos || error.find("cannot be read") != std::string::npos)
      << error;
}

// A first start that crashed half-way leaves only the file being built, never config.db.
TEST_F(SqliteStoreTest, CreationIsAtomic) {
  write_file(dir_ / "config.db.new", "half-built by a crashed first start");
  {
    SqliteStore store(db());
    EXPECT_TRUE(store.created());
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "config.db.new"));
  SqliteStore again(db());
  EXPECT_FALSE(again.created());
}

TEST_F(SqliteStoreTest, ReadOnlyRefusesAMissingFileAndCreatesNothing) {
  const std::filesystem::path mistyped = dir_ / "mistyped" / "config.db";
  EXPECT_NE(error_of(mistyped, SqliteStore::Access::read_only).find("does not exist"), std::string::npos);
  EXPECT_NE(error_of(db(), SqliteStore::Access::read_only).find("does not exist"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "mistyped"));
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

TEST_F(SqliteStoreTest, ReadOnlyReadsBesideAWriterAndWritesNothing) {
  SqliteStore writer(db());
  writer.transact([](StoreTransaction& t) {
    t.set_host_name("MAIL01");
    ReceiveConnector c = sample_connector();
    t.put(c);
  });
  SqliteStore reader(db(), SqliteStore::Access::read_only);
  EXPECT_FALSE(reader.created());
  Configuration config = reader.load();
  EXPECT_EQ(config.host_name, "MAIL01");
  EXPECT_EQ(config.connectors.size(), 1u);
  EXPECT_THROW(reader.transact([](StoreTransaction& t) { t.set_host_name("OTHER"); }), StoreError);
  // The writer's later commits are seen by the next read.
  writer.transact([](StoreTransaction& t) { t.set_host_name("MAIL02"); });
  EXPECT_EQ(reader.load().host_name, "MAIL02");
}

TEST_F(SqliteStoreTest, ReadOnlyRefusesANewerSchemaWithoutTouchingIt) {
  { SqliteStore store(db()); }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
  sqlite3_exec(raw, "PRAGMA user_version = 999", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  EXPECT_NE(error_of(db(), SqliteStore::Access::read_only).find("schema version 999"), std::string::npos);
}

SendConnector sample_send_connector() {
  SendConnector c;
  c.name = "To partner";
  c.address_spaces = {AddressSpace::parse("partner.example;10"), AddressSpace::parse("*.partner.example")};
  c.smart_hosts = {SmartHost::parse("relay.partner.example:587"), SmartHost::parse("[2001:db8::25]")};
  c.dns_routing_enabled = false;
  c.require_tls = true;
  c.smart_host_auth_mechanism = SmartHostAuthMechanism::basic_auth_require_tls;
  c.auth_user = "relay-user";
  c.auth_password = "p,a;s's\"w";
  c.max_message_size = std::nullopt;
  c.fqdn = "out.example.com";
  c.connection_inactivity_timeout = TimeSpan::from_seconds(30);
  c.smtp_max_messages_per_connection = 5;
  c.protocol_logging_level = ProtocolLoggingLevel::verbose;
  c.comment = "has, a comma";
  return c;
}

TEST_F(SqliteStoreTest, SendConnectorsRoundTripWithTheirPassword) {
  SendConnector written = sample_send_connector();
  {
    SqliteStore store(db());
    store.transact([&](StoreTransaction& t) { t.put(written); });
    EXPECT_NE(written.id, 0);
  }
  SqliteStore store(db());
  const Configuration config = store.load();
  ASSERT_EQ(config.send_connectors.size(), 1u);
  const SendConnector& c = config.send_connectors.front();
  EXPECT_EQ(c.id, written.id);
  EXPECT_EQ(c.name, written.name);
  EXPECT_EQ(c.address_spaces, written.address_spaces);
  EXPECT_EQ(c.smart_hosts, written.smart_hosts);
  EXPECT_FALSE(c.dns_routing_enabled);
  EXPECT_TRUE(c.require_tls);
  EXPECT_EQ(c.smart_host_auth_mechanism, SmartHostAuthMechanism::basic_auth_require_tls);
  EXPECT_EQ(c.auth_user, "relay-user");
  EXPECT_EQ(c.auth_password, written.auth_password);
  EXPECT_FALSE(c.max_message_size.has_value());
  EXPECT_EQ(c.fqdn, "out.example.com");
  EXPECT_EQ(c.connection_inactivity_timeout.seconds(), 30);
  EXPECT_EQ(c.smtp_max_messages_per_connection, 5);
  EXPECT_EQ(c.protocol_logging_level, ProtocolLoggingLevel::verbose);
  EXPECT_EQ(c.comment, "has, a comma");

  SendConnector changed = c;
  changed.auth_password.clear();
  changed.smart_hosts.clear();
  changed.dns_routing_enabled = true;
  store.transact([&](StoreTransaction& t) { t.put(changed); });
  EXPECT_EQ(store.load().send_connectors.front().auth_password, "");
  EXPECT_TRUE(store.load().send_connectors.front().smart_hosts.empty());
  store.transact([&](StoreTransaction& t) { t.remove_send_connector(changed.id); });
  EXPECT_TRUE(store.load().send_connectors.empty());
}

TEST_F(SqliteStoreTest, SendConnectorNamesAreUniqueWhateverTheirCase) {
  SqliteStore store(db());
  SendConnector first = sample_send_connector();
  store.transact([&](StoreTransaction& t) { t.put(first); });
  SendConnector second = sample_send_connector();
  second.name = "TO PARTNER";
  EXPECT_THROW(store.transact([&](StoreTransaction& t) { t.put(second); }), StoreError);
  EXPECT_EQ(store.load().send_connectors.size(), 1u);
}

TEST_F(SqliteStoreTest, TransportServerQueueSettingsRoundTrip) {
  {
    SqliteStore store(db());
    const TransportServerSettings defaults = store.load().transport_server;
    EXPECT_EQ(defaults.transient_failure_retry_interval.seconds(), 5 * 60);
    EXPECT_EQ(defaults.max_outbound_connections, 1000);
    TransportServerSettings settings;
    settings.transient_failure_retry_interval = TimeSpan::from_seconds(1);
    settings.outbound_connection_failure_retry_interval = TimeSpan::from_seconds(2);
    settings.message_expiration_timeout = TimeSpan::from_seconds(5);
    settings.delay_notification_timeout = TimeSpan::from_seconds(3);
    settings.max_outbound_connections = std::nullopt;
    settings.max_per_domain_outbound_connections = 1;
    store.transact([&](StoreTransaction& t) { t.put(settings); });
  }
  const TransportServerSettings loaded = SqliteStore(db()).load().transport_server;
  EXPECT_EQ(loaded.transient_failure_retry_interval.seconds(), 1);
  EXPECT_EQ(loaded.outbound_connection_failure_retry_interval.seconds(), 2);
  EXPECT_EQ(loaded.message_expiration_timeout.seconds(), 5);
  EXPECT_EQ(loaded.delay_notification_timeout.seconds(), 3);
  EXPECT_FALSE(loaded.max_outbound_connections.has_value());
  EXPECT_EQ(loaded.max_per_domain_outbound_connections, 1);
}

TEST_F(SqliteStoreTest, TheDatabaseIsReadableByItsOwnerOnly) {
  { SqliteStore store(db()); }
  EXPECT_EQ(std::filesystem::status(db()).permissions(),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  // A database made before it held passwords is narrowed when the daemon opens it.
  std::filesystem::permissions(db(), std::filesystem::perms::group_read | std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  { SqliteStore store(db()); }
  EXPECT_EQ(std::filesystem::status(db()).permissions(),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

// A database of schema version 3 (before send connectors) is migrated in place: what it held is kept,
// the queue settings take their defaults, and send connectors can be stored.
TEST_F(SqliteStoreTest, MigrationFourKeepsAVersionThreeDatabaseAndAddsSendConnectors) {
  ASSERT_GE(schema_migrations().size(), 4u);
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
    for (std::size_t i = 0; i < 3; ++i) {
      ASSERT_EQ(sqlite3_exec(raw, std::string(schema_migrations()[i]).c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    }
    ASSERT_EQ(sqlite3_exec(raw,
                           "UPDATE transport_server_settings SET ReceiveProtocolLogMaxAge = '7.00:00:00';"
                           "INSERT INTO transport_server VALUES (1, 'MAIL01');"
                           "PRAGMA user_version = 3;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  SqliteStore store(db());
  EXPECT_FALSE(store.created());
  EXPECT_EQ(store.schema_version(), static_cast<int>(schema_migrations().size()));
  const Configuration config = store.load();
  EXPECT_EQ(config.host_name, "MAIL01");
  EXPECT_EQ(config.transport_server.receive_protocol_log_max_age.seconds(), 7 * 86400);
  const TransportServerSettings defaults;
  for (const auto& p : transport_server_properties()) {
    if (p.name == "ReceiveProtocolLogMaxAge") continue;  // set above
    EXPECT_EQ(p.render(config.transport_server), p.render(defaults)) << p.name;
  }
  EXPECT_TRUE(config.send_connectors.empty());
  SendConnector c = sample_send_connector();
  store.transact([&](StoreTransaction& t) { t.put(c); });
  EXPECT_EQ(store.load().send_connectors.size(), 1u);
}

}  // namespace
}  // namespace transport::store
