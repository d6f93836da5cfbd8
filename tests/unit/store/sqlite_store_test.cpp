// SqliteStore on a real file: schema creation and version, round trips through the property tables,
// rollback on failure, and refusal of a newer schema.
#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "store/schema_migrations.h"

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

ReceiveConnector sample_connector() {
  ReceiveConnector c;
  c.name = "Default MAIL01";
  c.bindings = {Binding::parse("127.0.0.1:2525"), Binding::parse("[::1]:2525")};
  c.tarpit_interval = TimeSpan::from_seconds(10);
  c.fqdn = "mail01.example.com";
  c.max_inbound_connection = std::nullopt;
  c.comment = "has, a comma";
  return c;
}

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
  EXPECT_EQ(c.comment, "has, a comma");
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

}  // namespace
}  // namespace transport::store
