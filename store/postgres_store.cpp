// PostgresStore: rows through the property tables (store/property_rows.h), as in SqliteStore, over
// libpq with text parameters.
#include "store/postgres_store.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <iterator>
#include <span>
#include <utility>
#include <vector>

#include "store/postgres_schema.h"
#include "store/property.h"
#include "store/property_rows.h"
#include "store/text_util.h"

namespace transport::store {

namespace {

// pg_advisory_lock keys: migrations (several nodes may start at once) and admin changes (two
// administrators on two nodes are serialised, each validated against what the other committed).
constexpr std::int64_t kMigrationLock = 0x7472616e73640001;  // "transd" 1
constexpr std::int64_t kChangeLock = 0x7472616e73640002;
constexpr std::string_view kChangeChannel = "transportd_config";

// A result that clears itself.
class Result {
 public:
  explicit Result(PGresult* result) : result_(result) {}
  ~Result() { PQclear(result_); }
  Result(Result&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  int rows() const { return PQntuples(result_); }
  std::string text(int row, int column) const {
    return std::string(PQgetvalue(result_, row, column), static_cast<std::size_t>(PQgetlength(result_, row, column)));
  }
  std::int64_t integer(int row, int column) const { return std::stoll(text(row, column)); }

 private:
  PGresult* result_;
};

void check(pg_conn* connection, PGresult* raw, const std::string& doing) {
  const ExecStatusType status = PQresultStatus(raw);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
  std::string message = raw != nullptr ? PQresultErrorMessage(raw) : PQerrorMessage(connection);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  PQclear(raw);
  throw StoreError(doing + ": " + message);
}

// Runs `sql` with text parameters; throws StoreError saying what was being done and PostgreSQL's words.
Result exec(pg_conn* connection, const std::string& sql, const std::vector<std::string>& parameters,
            const std::string& doing) {
  std::vector<const char*> values;
  values.reserve(parameters.size());
  for (const std::string& p : parameters) values.push_back(p.c_str());
  PGresult* raw = PQexecParams(connection, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                               nullptr, nullptr, 0);
  check(connection, raw, doing);
  return Result(raw);
}

// Several statements at once (migrations, BEGIN/COMMIT): no parameters.
void exec_script(pg_conn* connection, const std::string& sql, const std::string& doing) {
  PGresult* raw = PQexec(connection, sql.c_str());
  check(connection, raw, doing);
  PQclear(raw);
}

// Inserts (id 0, then set to the new row's id) or updates one row whose columns are the model's
// properties; `owner` (a column and its value, as the Server of a receive connector) is written on insert.
template <class Model>
void put_row(pg_conn* connection, std::string_view table, std::span<const Property<Model>> properties,
             const Model& model, std::int64_t& id,
             const std::pair<std::string_view, std::string>& owner = {}) {
  std::vector<std::string> values;
  values.reserve(properties.size() + 2);
  for (const auto& p : properties) values.push_back(column_text(p, model));
  std::string sql;
  if (id == 0) {
    std::string columns, params;
    int n = 0;
    for (const auto& p : properties) {
      columns += (columns.empty() ? "" : ", ") + quoted_column(p.name);
      params += (params.empty() ? "$" : ", $") + std::to_string(++n);
    }
    if (!owner.first.empty()) {
      columns += ", " + quoted_column(owner.first);
      params += ", $" + std::to_string(++n);
      values.push_back(owner.second);
    }
    sql = "INSERT INTO " + std::string(table) + " (" + columns + ") VALUES (" + params + ") RETURNING id";
  } else {
    std::string assignments;
    int n = 0;
    for (const auto& p : properties) {
      assignments += (assignments.empty() ? "" : ", ") + quoted_column(p.name) + " = $" + std::to_string(++n);
    }
    sql = "UPDATE " + std::string(table) + " SET " + assignments + " WHERE id = $" + std::to_string(n + 1);
    values.push_back(std::to_string(id));
  }
  Result result = exec(connection, sql, values, "writing " + std::string(table));
  if (id == 0) id = result.integer(0, 0);
}

template <class Model, class Finish>
std::vector<Model> load_rows(pg_conn* connection, std::string_view table, std::span<const Property<Model>> properties,
                             const std::string& extra, Finish finish) {
  std::string columns = "id";
  for (const auto& p : properties) columns += ", " + quoted_column(p.name);
  if (!extra.empty()) columns += ", " + quoted_column(extra);
  const Result result =
      exec(connection, "SELECT " + columns + " FROM " + std::string(table) + " ORDER BY id", {}, "reading " + std::string(table));
  std::vector<Model> rows;
  rows.reserve(static_cast<std::size_t>(result.rows()));
  for (int row = 0; row < result.rows(); ++row) {
    Model model;
    const std::int64_t id = result.integer(row, 0);
    int column = 1;
    for (const auto& p : properties) assign_column(p, model, result.text(row, column++), table, id);
    finish(model, id, extra.empty() ? std::string() : result.text(row, column));
    rows.push_back(std::move(model));
  }
  return rows;
}

void remove_row(pg_conn* connection, std::string_view table, std::int64_t id) {
  exec(connection, "DELETE FROM " + std::string(table) + " WHERE id = $1", {std::to_string(id)},
       "removing from " + std::string(table));
}

class PostgresTransaction final : public StoreTransaction {
 public:
  PostgresTransaction(pg_conn* connection, const std::string& node) : c_(connection), node_(node) {}
  // The node joins the fleet under its name (once; the name is its key).
  void set_host_name(const std::string& host_name) override {
    exec(c_, "INSERT INTO fleet_nodes (\"HostName\") VALUES ($1) ON CONFLICT DO NOTHING", {host_name},
         "registering " + host_name + " in the fleet");
  }
  // Receive connectors belong to one server (DESIGN §12): a new one is this node's; an existing one is
  // updated by id, on whichever server it is (an administrator may change another server's).
  void put(ReceiveConnector& connector) override {
    put_row(c_, "receive_connectors", receive_connector_properties(), connector, connector.id, {"Server", node_});
  }
  void put(SendConnector& connector) override {
    put_row(c_, "send_connectors", send_connector_properties(), connector, connector.id);
    exec(c_, "UPDATE send_connectors SET \"AuthenticationPassword\" = $1 WHERE id = $2",
         {connector.auth_password, std::to_string(connector.id)}, "writing a send connector's password");
  }
  void put(AcceptedDomain& domain) override {
    put_row(c_, "accepted_domains", accepted_domain_properties(), domain, domain.id);
  }
  void put(Mailbox& mailbox) override {
    put_row(c_, "mailboxes", mailbox_properties(), mailbox, mailbox.id);
    exec(c_, "UPDATE mailboxes SET \"PasswordHash\" = $1 WHERE id = $2",
         {mailbox.password_hash, std::to_string(mailbox.id)}, "writing a mailbox's password");
  }
  void put(const RecipientFilterConfig& filter) override {
    std::int64_t the_only_row = 1;
    put_row(c_, "recipient_filter", recipient_filter_properties(), filter, the_only_row);
  }
  void put(const TransportServerSettings& settings) override {
    std::int64_t the_only_row = 1;
    put_row(c_, "transport_server_settings", transport_server_properties(), settings, the_only_row);
  }
  void put(const HarvestDefenceConfig& config) override {
    std::int64_t the_only_row = 1;
    put_row(c_, "harvest_defence", harvest_defence_properties(), config, the_only_row);
  }
  void remove_connector(std::int64_t id) override { remove_row(c_, "receive_connectors", id); }
  void remove_send_connector(std::int64_t id) override { remove_row(c_, "send_connectors", id); }
  void remove_accepted_domain(std::int64_t id) override { remove_row(c_, "accepted_domains", id); }
  void remove_mailbox(std::int64_t id) override { remove_row(c_, "mailboxes", id); }

 private:
  pg_conn* c_;
  const std::string& node_;
};

// Starts a transaction. A connection PostgreSQL closed (a restart) is only found dead by using it: then,
// nothing having been done yet, it is made again once and the transaction started on the new one.
void begin(pg_conn* connection, const std::string& sql, const std::string& doing) {
  if (PQstatus(connection) == CONNECTION_OK) {
    PGresult* raw = PQexec(connection, sql.c_str());
    if (PQresultStatus(raw) == PGRES_COMMAND_OK) {
      PQclear(raw);
      return;
    }
    if (PQstatus(connection) == CONNECTION_OK) check(connection, raw, doing);  // throws: PostgreSQL said no
    PQclear(raw);
  }
  PQreset(connection);
  exec_script(connection, sql, doing);
}

// Connects with a 5 s connect_timeout unless the connection string gives its own: a node must notice an
// unreachable store in bounded time (libpq's default is to wait for ever).
// Server notices (and the FATAL of a server shutting down) are not printed on stderr: what matters
// reaches the caller as an error and is logged there.
pg_conn* connect_bounded(const std::string& conninfo) {
  const char* const keywords[] = {"connect_timeout", "dbname", nullptr};
  const char* const values[] = {"5", conninfo.c_str(), nullptr};
  pg_conn* connection = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (connection != nullptr) PQsetNoticeProcessor(connection, [](void*, const char*) {}, nullptr);
  return connection;
}

}  // namespace

std::string PostgresStore::describe(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    if (error != nullptr) PQfreemem(error);
    return "postgresql (an unreadable connection string)";
  }
  std::string user, host, port, dbname;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string_view keyword = o->keyword;
    if (keyword == "user") user = o->val;
    if (keyword == "host" || (keyword == "hostaddr" && host.empty())) host = o->val;
    if (keyword == "port") port = o->val;
    if (keyword == "dbname") dbname = o->val;
  }
  PQconninfoFree(options);
  std::string text = "postgresql://";
  if (!user.empty()) text += user + "@";
  text += host.empty() ? "localhost" : host;
  if (!port.empty()) text += ":" + port;
  if (!dbname.empty()) text += "/" + dbname;
  return text;
}

PostgresStore::PostgresStore(const std::string& conninfo, std::string node)
    : description_(describe(conninfo)), node_(std::move(node)) {
  connection_ = connect_bounded(conninfo);
  if (connection_ == nullptr || PQstatus(connection_) != CONNECTION_OK) {
    std::string message = connection_ != nullptr ? PQerrorMessage(connection_) : "out of memory";
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    PQfinish(connection_);
    throw StoreError("cannot reach the configuration store " + description_ + ": " + message);
  }
  try {
    exec_script(connection_, "SET client_min_messages = warning", "configuring the session with " + description_);
    exec(connection_, "SELECT pg_advisory_lock($1)", {std::to_string(kMigrationLock)}, "locking " + description_);
    exec_script(connection_, "CREATE TABLE IF NOT EXISTS transportd_schema (version INTEGER NOT NULL)",
                "preparing " + description_);
    const Result found = exec(connection_, "SELECT version FROM transportd_schema", {}, "reading " + description_);
    const int version = found.rows() == 0 ? 0 : static_cast<int>(found.integer(0, 0));
    const auto migrations = postgres_migrations();
    const int known = static_cast<int>(migrations.size());
    if (version > known) {
      throw StoreError(description_ + " has schema version " + std::to_string(version) + ", this transportd's is " +
                       std::to_string(known) + ": run the newer transportd on this node too");
    }
    for (int next = version; next < known; ++next) {
      const std::string doing = "migrating " + description_ + " to schema version " + std::to_string(next + 1);
      exec_script(connection_, "BEGIN", doing);
      try {
        exec_script(connection_, std::string(migrations[static_cast<std::size_t>(next)]), doing);
        exec_script(connection_, "DELETE FROM transportd_schema", doing);
        exec(connection_, "INSERT INTO transportd_schema (version) VALUES ($1)", {std::to_string(next + 1)}, doing);
        exec_script(connection_, "COMMIT", doing);
      } catch (...) {
        PQclear(PQexec(connection_, "ROLLBACK"));
        throw;
      }
    }
    created_ = version == 0;
    exec(connection_, "SELECT pg_advisory_unlock($1)", {std::to_string(kMigrationLock)}, "unlocking " + description_);
  } catch (...) {
    PQfinish(connection_);
    throw;
  }
}

PostgresStore::~PostgresStore() { PQfinish(connection_); }

int PostgresStore::schema_version() const {
  const Result r = exec(connection_, "SELECT version FROM transportd_schema", {}, "reading " + description_);
  return r.rows() == 0 ? 0 : static_cast<int>(r.integer(0, 0));
}

std::vector<PostgresStore::NodeStatus> PostgresStore::heartbeat(std::int64_t config_version) {
  const std::string doing = "recording this node in " + description_;
  begin(connection_, "BEGIN", doing);
  try {
    exec(connection_,
         "UPDATE fleet_nodes SET \"LastSeen\" = now(), \"ConfigVersion\" = $2 WHERE lower(\"HostName\") = lower($1)",
         {node_, std::to_string(config_version)}, doing);
    const Result r = exec(connection_,
                          "SELECT \"HostName\", to_char(\"LastSeen\" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                          "\"ConfigVersion\" FROM fleet_nodes ORDER BY lower(\"HostName\")",
                          {}, doing);
    exec_script(connection_, "COMMIT", doing);
    std::vector<NodeStatus> nodes;
    for (int row = 0; row < r.rows(); ++row) nodes.push_back({r.text(row, 0), r.text(row, 1), r.integer(row, 2)});
    return nodes;
  } catch (...) {
    PQclear(PQexec(connection_, "ROLLBACK"));
    throw;
  }
}

bool PostgresStore::connected() const { return PQstatus(connection_) == CONNECTION_OK; }

std::int64_t PostgresStore::version() const {
  const Result r = exec(connection_, "SELECT version FROM config_version WHERE id = 1", {}, "reading " + description_);
  return r.rows() == 0 ? 0 : r.integer(0, 0);
}

Configuration PostgresStore::load() const {
  const std::string doing = "reading the configuration from " + description_;
  // One snapshot of every table: a change committed meanwhile is either wholly in it or not at all.
  begin(connection_, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", doing);
  try {
    Configuration config;
    {
      // Not yet in fleet_nodes: the node's first start, which ConfigurationService completes.
      const Result r = exec(connection_, "SELECT \"HostName\" FROM fleet_nodes WHERE lower(\"HostName\") = lower($1)",
                            {node_}, doing);
      if (r.rows() > 0) config.host_name = r.text(0, 0);
    }
    auto keep_id = [](auto& model, std::int64_t id, const std::string&) { model.id = id; };
    auto single = [](auto&, std::int64_t, const std::string&) {};
    std::vector<std::string> servers;
    std::vector<ReceiveConnector> connectors =
        load_rows(connection_, "receive_connectors", receive_connector_properties(), "Server",
                  [&servers](ReceiveConnector& c, std::int64_t id, const std::string& server) {
                    c.id = id;
                    servers.push_back(server);
                  });
    for (std::size_t i = 0; i < connectors.size(); ++i) {
      if (iequals(servers[i], node_)) {
        config.connectors.push_back(std::move(connectors[i]));
        continue;
      }
      auto other = std::find_if(config.other_servers.begin(), config.other_servers.end(),
                                [&](const ServerConnectors& s) { return s.server == servers[i]; });
      if (other == config.other_servers.end()) {
        config.other_servers.push_back(ServerConnectors{servers[i], {}});
        other = std::prev(config.other_servers.end());
      }
      other->connectors.push_back(std::move(connectors[i]));
    }
    // A server of the fleet without a connector is a server still (get-receiveconnector --server finds it).
    const Result nodes = exec(connection_, "SELECT \"HostName\" FROM fleet_nodes", {}, doing);
    for (int row = 0; row < nodes.rows(); ++row) {
      const std::string server = nodes.text(row, 0);
      const bool known = iequals(server, node_) ||
                         std::any_of(config.other_servers.begin(), config.other_servers.end(),
                                     [&](const ServerConnectors& s) { return iequals(s.server, server); });
      if (!known) config.other_servers.push_back(ServerConnectors{server, {}});
    }
    std::sort(config.other_servers.begin(), config.other_servers.end(),
              [](const ServerConnectors& a, const ServerConnectors& b) { return a.server < b.server; });
    config.send_connectors = load_rows(connection_, "send_connectors", send_connector_properties(),
                                       "AuthenticationPassword",
                                       [](SendConnector& c, std::int64_t id, const std::string& password) {
                                         c.id = id;
                                         c.auth_password = password;
                                       });
    config.accepted_domains = load_rows(connection_, "accepted_domains", accepted_domain_properties(), "", keep_id);
    config.mailboxes = load_rows(connection_, "mailboxes", mailbox_properties(), "PasswordHash",
                                 [](Mailbox& m, std::int64_t id, const std::string& hash) {
                                   m.id = id;
                                   m.password_hash = hash;
                                 });
    auto filters = load_rows(connection_, "recipient_filter", recipient_filter_properties(), "", single);
    if (!filters.empty()) config.recipient_filter = filters.front();
    auto settings = load_rows(connection_, "transport_server_settings", transport_server_properties(), "", single);
    if (!settings.empty()) config.transport_server = settings.front();
    auto harvest = load_rows(connection_, "harvest_defence", harvest_defence_properties(), "", single);
    if (!harvest.empty()) config.harvest_defence = harvest.front();
    config.version = exec(connection_, "SELECT version FROM config_version WHERE id = 1", {}, doing).integer(0, 0);
    exec_script(connection_, "COMMIT", doing);
    return config;
  } catch (...) {
    PQclear(PQexec(connection_, "ROLLBACK"));
    throw;
  }
}

std::int64_t PostgresStore::transact(const std::function<void(StoreTransaction&)>& change, std::int64_t based_on) {
  const std::string doing = "changing the configuration in " + description_;
  begin(connection_, "BEGIN", doing);
  try {
    exec(connection_, "SELECT pg_advisory_xact_lock($1)", {std::to_string(kChangeLock)}, doing);
    // Under the lock, the version is the latest: another node's change since the snapshot makes this
    // one stale, to be computed again (two administrators cannot both take the same name).
    if (based_on != kAnyVersion) {
      const Result current = exec(connection_, "SELECT version FROM config_version WHERE id = 1", {}, doing);
      if (current.integer(0, 0) != based_on) {
        throw StaleConfiguration("the configuration changed on another node (version " +
                                 std::to_string(current.integer(0, 0)) + ", this change was made against " +
                                 std::to_string(based_on) + ")");
      }
    }
    PostgresTransaction transaction(connection_, node_);
    change(transaction);
    const Result counted =
        exec(connection_, "UPDATE config_version SET version = version + 1 WHERE id = 1 RETURNING version", {}, doing);
    // Every node listening hears the new version when (and only if) the change commits.
    exec(connection_, "SELECT pg_notify($1, $2)", {std::string(kChangeChannel), counted.text(0, 0)}, doing);
    try {
      exec_script(connection_, "COMMIT", doing);
    } catch (const StoreError& e) {
      // A COMMIT refused by a live server (a deferred constraint) made nothing; one that lost its
      // connection may have been made before the server went.
      if (PQstatus(connection_) != CONNECTION_BAD) throw;
      throw ChangeOutcomeUnknown(e.what());
    }
    return counted.integer(0, 0);
  } catch (...) {
    PQclear(PQexec(connection_, "ROLLBACK"));
    throw;
  }
}

PostgresChangeListener::PostgresChangeListener(const std::string& conninfo)
    : conninfo_(conninfo), description_(PostgresStore::describe(conninfo)) {}

PostgresChangeListener::~PostgresChangeListener() { PQfinish(connection_); }

bool PostgresChangeListener::connect(std::string& error) {
  if (connection_ != nullptr && PQstatus(connection_) == CONNECTION_OK) return true;
  PQfinish(connection_);
  connection_ = connect_bounded(conninfo_);
  if (connection_ == nullptr || PQstatus(connection_) != CONNECTION_OK) {
    error = "cannot reach the configuration store " + description_ + ": " +
            (connection_ != nullptr ? PQerrorMessage(connection_) : "out of memory");
    while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
    PQfinish(connection_);
    connection_ = nullptr;
    return false;
  }
  PGresult* r = PQexec(connection_, ("LISTEN " + std::string(kChangeChannel)).c_str());
  const bool listening = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!listening) {
    error = "cannot listen for changes on " + description_ + ": " + PQerrorMessage(connection_);
    PQfinish(connection_);
    connection_ = nullptr;
    return false;
  }
  return true;
}

PostgresChangeListener::Heard PostgresChangeListener::wait(std::chrono::milliseconds timeout, std::string& error) {
  Heard heard;
  heard.reconnected = connection_ == nullptr;
  if (!connect(error)) {
    heard.connected = false;
    heard.reconnected = false;
    return heard;
  }
  const auto take_notifications = [&] {
    while (PGnotify* n = PQnotifies(connection_)) {
      try {
        heard.version = std::max(heard.version, static_cast<std::int64_t>(std::stoll(n->extra)));
      } catch (const std::exception&) {
        heard.version = std::max<std::int64_t>(heard.version, 1);  // a change without a readable version
      }
      PQfreemem(n);
    }
  };
  take_notifications();  // any that came with an earlier read
  if (heard.version > 0) return heard;
  pollfd descriptor{PQsocket(connection_), POLLIN, 0};
  const int ready = ::poll(&descriptor, 1, static_cast<int>(timeout.count()));
  if (ready > 0 && PQconsumeInput(connection_) == 0) {
    error = "lost the connection to the configuration store " + description_ + ": " + PQerrorMessage(connection_);
    while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
    PQfinish(connection_);
    connection_ = nullptr;
    heard.connected = false;
    return heard;
  }
  take_notifications();
  return heard;
}

}  // namespace transport::store
