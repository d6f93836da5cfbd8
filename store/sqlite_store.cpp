// SqliteStore: rows are written and read through the property tables, one column per property, so a
// new property is one table entry plus one migration.
#include "store/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <initializer_list>
#include <system_error>

#include "store/property.h"
#include "store/property_rows.h"
#include "store/schema_migrations.h"
#include "store/sqlite_util.h"
#include "store/value_error.h"

namespace transport::store {

namespace {

using Statement = SqliteStatement<StoreError>;

void exec(sqlite3* db, const std::string& sql, const std::string& doing) { sqlite_exec<StoreError>(db, sql, doing); }

// INSERT of a row whose columns are the model's properties, then `extra` columns.
template <class Model>
std::string insert_sql(std::string_view table, std::span<const Property<Model>> properties,
                       std::initializer_list<std::string_view> extra = {}) {
  std::string columns, params;
  const auto add = [&](const std::string& column) {
    columns += (columns.empty() ? "" : ", ") + column;
    params += params.empty() ? "?" : ", ?";
  };
  for (const auto& p : properties) add(quoted_column(p.name));
  for (const std::string_view column : extra) add(std::string(column));
  return "INSERT INTO " + std::string(table) + " (" + columns + ") VALUES (" + params + ")";
}

// Inserts many rows with one prepared statement (the local copy of a fleet's directory: 100,000
// mailboxes prepared one by one would cost seconds). `extra(model)` gives the `extra` columns' values.
template <class Model, class Extra>
void insert_rows(sqlite3* db, std::string_view table, std::span<const Property<Model>> properties,
                 const std::vector<Model>& models, std::initializer_list<std::string_view> extra_columns,
                 Extra extra) {
  Statement statement(db, insert_sql(table, properties, extra_columns));
  for (const Model& model : models) {
    int index = 1;
    for (const auto& p : properties) statement.bind(index++, column_text(p, model));
    for (const std::string& value : extra(model)) statement.bind(index++, value);
    statement.step();
    statement.reset();
  }
}

// Inserts (id 0, then set to the new row's id) or updates one row whose columns are the model's
// properties.
template <class Model>
void put_row(sqlite3* db, std::string_view table, std::span<const Property<Model>> properties,
             const Model& model, std::int64_t& id) {
  std::string sql;
  if (id == 0) {
    sql = insert_sql(table, properties);
  } else {
    std::string assignments;
    for (const auto& p : properties) assignments += (assignments.empty() ? "" : ", ") + quoted_column(p.name) + " = ?";
    sql = "UPDATE " + std::string(table) + " SET " + assignments + " WHERE id = ?";
  }
  Statement statement(db, sql);
  int index = 1;
  for (const auto& p : properties) statement.bind(index++, column_text(p, model));
  if (id != 0) statement.bind(index, id);
  statement.step();
  if (id == 0) id = sqlite3_last_insert_rowid(db);
}

// Reads every row of a table back through the property tables. `finish` receives each model with its
// row id, and the statement positioned after the property columns, where `extra` columns follow.
template <class Model, class Finish>
std::vector<Model> load_rows(sqlite3* db, std::string_view table, std::span<const Property<Model>> properties,
                             const std::string& extra, Finish finish) {
  std::string columns = "id";
  for (const auto& p : properties) columns += ", " + quoted_column(p.name);
  if (!extra.empty()) columns += ", " + extra;
  Statement statement(db, "SELECT " + columns + " FROM " + std::string(table) + " ORDER BY id");
  std::vector<Model> rows;
  while (statement.step()) {
    Model model;
    const std::int64_t id = statement.integer(0);
    int column = 1;
    for (const auto& p : properties) assign_column(p, model, statement.text(column++), table, id);
    finish(model, id, statement, column);
    rows.push_back(std::move(model));
  }
  return rows;
}

void remove_row(sqlite3* db, std::string_view table, std::int64_t id) {
  Statement statement(db, "DELETE FROM " + std::string(table) + " WHERE id = ?");
  statement.bind(1, id);
  statement.step();
}

sqlite3* open_database(const std::filesystem::path& path, int flags) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    std::string message =
        "cannot open configuration database " + path.string() + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    throw StoreError(message);
  }
  sqlite3_busy_timeout(db, 5000);
  return db;
}

// The rename that puts a new database in place survives a crash only once its directory is synced.
void sync_directory(const std::filesystem::path& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  const int error_number = errno;
  if (fd >= 0) ::close(fd);
  if (!synced) {
    throw StoreError("syncing " + directory.string() + ": " + std::generic_category().message(error_number));
  }
}

// A new database holding the whole schema, built under a temporary name and renamed into place when
// complete: a crash during a first start leaves no config.db, so the next start simply begins again.
void create_database(const std::filesystem::path& path) {
  std::filesystem::path building = path;
  building += ".new";
  std::filesystem::path building_journal = building;
  building_journal += "-journal";
  std::error_code ignored;
  std::filesystem::remove(building, ignored);  // left by a crash during an earlier first start
  std::filesystem::remove(building_journal, ignored);
  sqlite3* db = open_database(building, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  try {
    exec(db, "PRAGMA synchronous = FULL", "creating " + building.string());  // each commit is fsynced
    migrate<StoreError>(db, schema_migrations(), path);
  } catch (...) {
    sqlite3_close(db);
    std::filesystem::remove(building, ignored);
    throw;
  }
  sqlite3_close(db);
  std::error_code error;
  std::filesystem::rename(building, path, error);
  if (error) throw StoreError("creating configuration database " + path.string() + ": " + error.message());
  sync_directory(path.parent_path().empty() ? "." : path.parent_path());
}

// Refuses a file that is not a sound transportd database: not SQLite at all, damaged (SQLite's
// quick_check: page and index structure, in milliseconds for a configuration), or without our schema.
void check_usable(sqlite3* db, const std::filesystem::path& path) {
  const std::string refused = "configuration database " + path.string();
  std::string damage;
  try {
    Statement check(db, "PRAGMA quick_check(5)");
    while (check.step()) {
      const std::string row = check.text(0);
      if (row == "ok") continue;
      damage += (damage.empty() ? "" : "; ") + row;
    }
  } catch (const StoreError&) {
    throw StoreError(refused + " cannot be read as an SQLite database (" + sqlite3_errmsg(db) +
                     "): restore it from a backup");
  }
  if (!damage.empty()) {
    throw StoreError(refused + " is damaged (SQLite quick_check: " + damage + "): restore it from a backup");
  }
  if (user_version<StoreError>(db) == 0) {
    throw StoreError(refused + " is an SQLite database but not a transportd configuration (no schema version): "
                     "restore it from a backup, or move it away to start with a new one");
  }
}

}  // namespace

// The writes of one SQLite transaction, on the store's connection.
class SqliteTransaction final : public StoreTransaction {
 public:
  explicit SqliteTransaction(sqlite3* db) : db_(db) {}
  void set_host_name(const std::string& host_name) override;
  void put(ReceiveConnector& connector) override;
  void put(SendConnector& connector) override;
  void put(AcceptedDomain& domain) override;
  void put(Mailbox& mailbox) override;
  void put(const RecipientFilterConfig& filter) override;
  void put(const TransportServerSettings& settings) override;
  void put(const HarvestDefenceConfig& config) override;
  void remove_connector(std::int64_t id) override;
  void remove_send_connector(std::int64_t id) override;
  void remove_accepted_domain(std::int64_t id) override;
  void remove_mailbox(std::int64_t id) override;

 private:
  sqlite3* db_;
};

void SqliteTransaction::set_host_name(const std::string& host_name) {
  Statement statement(db_, "INSERT OR REPLACE INTO transport_server (id, HostName) VALUES (1, ?)");
  statement.bind(1, host_name);
  statement.step();
}

void SqliteTransaction::put(ReceiveConnector& connector) {
  put_row(db_, "receive_connectors", receive_connector_properties(), connector, connector.id);
}

void SqliteTransaction::put(SendConnector& connector) {
  put_row(db_, "send_connectors", send_connector_properties(), connector, connector.id);
  Statement statement(db_, "UPDATE send_connectors SET AuthenticationPassword = ? WHERE id = ?");
  statement.bind(1, connector.auth_password);
  statement.bind(2, connector.id);
  statement.step();
}

void SqliteTransaction::put(AcceptedDomain& domain) {
  put_row(db_, "accepted_domains", accepted_domain_properties(), domain, domain.id);
}

void SqliteTransaction::put(Mailbox& mailbox) {
  put_row(db_, "mailboxes", mailbox_properties(), mailbox, mailbox.id);
  Statement statement(db_, "UPDATE mailboxes SET PasswordHash = ? WHERE id = ?");
  statement.bind(1, mailbox.password_hash);
  statement.bind(2, mailbox.id);
  statement.step();
}

void SqliteTransaction::put(const RecipientFilterConfig& filter) {
  std::int64_t the_only_row = 1;
  put_row(db_, "recipient_filter", recipient_filter_properties(), filter, the_only_row);
}

void SqliteTransaction::put(const TransportServerSettings& settings) {
  std::int64_t the_only_row = 1;
  put_row(db_, "transport_server_settings", transport_server_properties(), settings, the_only_row);
}

void SqliteTransaction::put(const HarvestDefenceConfig& config) {
  std::int64_t the_only_row = 1;
  put_row(db_, "harvest_defence", harvest_defence_properties(), config, the_only_row);
}

void SqliteTransaction::remove_connector(std::int64_t id) { remove_row(db_, "receive_connectors", id); }
void SqliteTransaction::remove_send_connector(std::int64_t id) { remove_row(db_, "send_connectors", id); }
void SqliteTransaction::remove_accepted_domain(std::int64_t id) { remove_row(db_, "accepted_domains", id); }
void SqliteTransaction::remove_mailbox(std::int64_t id) { remove_row(db_, "mailboxes", id); }

SqliteStore::SqliteStore(const std::filesystem::path& path, Access access) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (error && error != std::errc::no_such_file_or_directory) {
    throw StoreError("cannot open configuration database " + path.string() + ": " + error.message());
  }
  if (!std::filesystem::exists(status)) {
    if (access == Access::read_only) {
      throw StoreError("configuration database " + path.string() + " does not exist (is --data-dir right?)");
    }
    create_database(path);
    created_ = true;
  } else if (!std::filesystem::is_regular_file(status)) {
    throw StoreError("configuration database " + path.string() + " is not a regular file");
  } else if (std::filesystem::file_size(path, error) == 0 && !error) {
    // What a failed copy or restore leaves: taking it for a first start would silently drop every
    // domain, mailbox and password.
    throw StoreError("configuration database " + path.string() +
                     " is empty (0 bytes), so it holds no configuration: restore it from a backup, or remove it "
                     "to start again with a new one");
  }
  db_ = open_database(path, access == Access::read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
  try {
    check_usable(db_, path);
    if (access == Access::read_write) {
      // The file holds send connectors' smart host passwords (they are sent, so not hashed): only
      // transportd's user may read it, whatever the umask or the directory allow. SQLite gives its
      // -wal and -shm files the database file's mode.
      ::chmod(path.c_str(), S_IRUSR | S_IWUSR);
      exec(db_, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
           "configuring " + path.string());
      migrate<StoreError>(db_, schema_migrations(), path);
    } else if (const int found = user_version<StoreError>(db_),
               known = static_cast<int>(schema_migrations().size());
               found != known) {
      throw StoreError(path.string() + " has schema version " + std::to_string(found) + ", this transportd's is " +
                       std::to_string(known) +
                       (found > known ? ": run the newer transportd, or restore a backup"
                                      : ": start this transportd once to migrate it, then check again"));
    }
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

int SqliteStore::schema_version() const { return user_version<StoreError>(db_); }

Configuration SqliteStore::load() const {
  Configuration config;
  {
    Statement statement(db_, "SELECT HostName FROM transport_server WHERE id = 1");
    if (statement.step()) config.host_name = statement.text(0);
  }
  auto keep_id = [](auto& model, std::int64_t id, const Statement&, int) { model.id = id; };
  config.connectors = load_rows(db_, "receive_connectors", receive_connector_properties(), "", keep_id);
  config.send_connectors = load_rows(db_, "send_connectors", send_connector_properties(), "AuthenticationPassword",
                                     [](SendConnector& c, std::int64_t id, const Statement& s, int column) {
                                       c.id = id;
                                       c.auth_password = s.text(column);
                                     });
  config.accepted_domains = load_rows(db_, "accepted_domains", accepted_domain_properties(), "", keep_id);
  config.mailboxes = load_rows(db_, "mailboxes", mailbox_properties(), "PasswordHash",
                               [](Mailbox& m, std::int64_t id, const Statement& s, int column) {
                                 m.id = id;
                                 m.password_hash = s.text(column);
                               });
  auto filters = load_rows(db_, "recipient_filter", recipient_filter_properties(), "",
                           [](RecipientFilterConfig&, std::int64_t, const Statement&, int) {});
  if (!filters.empty()) config.recipient_filter = filters.front();
  auto settings = load_rows(db_, "transport_server_settings", transport_server_properties(), "",
                            [](TransportServerSettings&, std::int64_t, const Statement&, int) {});
  if (!settings.empty()) config.transport_server = settings.front();
  auto harvest = load_rows(db_, "harvest_defence", harvest_defence_properties(), "",
                           [](HarvestDefenceConfig&, std::int64_t, const Statement&, int) {});
  if (!harvest.empty()) config.harvest_defence = harvest.front();
  return config;
}

std::int64_t SqliteStore::transact(const std::function<void(StoreTransaction&)>& change, std::int64_t) {
  exec(db_, "BEGIN IMMEDIATE", "starting a transaction");
  try {
    SqliteTransaction transaction(db_);
    change(transaction);
    exec(db_, "COMMIT", "committing");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  return 0;
}

void SqliteStore::replace_all(const Configuration& config) {
  transact([&](StoreTransaction& t) {
    exec(db_, "DELETE FROM receive_connectors; DELETE FROM send_connectors; DELETE FROM accepted_domains; "
              "DELETE FROM mailboxes;",
         "emptying the local copy");
    t.set_host_name(config.host_name);
    const auto none = [](const auto&) { return std::array<std::string, 0>{}; };
    insert_rows(db_, "receive_connectors", receive_connector_properties(), config.connectors, {}, none);
    insert_rows(db_, "send_connectors", send_connector_properties(), config.send_connectors,
                {"AuthenticationPassword"}, [](const SendConnector& c) { return std::array{c.auth_password}; });
    insert_rows(db_, "accepted_domains", accepted_domain_properties(), config.accepted_domains, {}, none);
    insert_rows(db_, "mailboxes", mailbox_properties(), config.mailboxes, {"PasswordHash"},
                [](const Mailbox& m) { return std::array{m.password_hash}; });
    t.put(config.recipient_filter);
    t.put(config.transport_server);
    t.put(config.harvest_defence);
  });
}

}  // namespace transport::store
