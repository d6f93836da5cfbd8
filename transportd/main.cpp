// transportd: the daemon. Takes the data directory's lock, opens the configuration database (creating
// the default connector on first start), serves the admin API, and stops cleanly on SIGTERM/SIGINT.
#include <grpcpp/server.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "store/cached_postgres_store.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"
#include "store/text_util.h"
#include "store/time_span.h"
#include "store/value_error.h"
#include "transportd/admin/admin_server.h"
#include "transportd/admin/admin_service.h"
#include "transportd/config/configuration_service.h"
#include "transportd/connectors/smtp_server.h"
#include "transportd/data_dir_lock.h"
#include "transportd/fleet/fleet_watcher.h"
#include "transportd/host_names.h"
#include "transportd/delivery/maildir.h"
#include "transportd/log.h"
#include "transportd/observability/connector_metrics.h"
#include "transportd/observability/health.h"
#include "transportd/observability/metrics_server.h"
#include "transportd/observability/reputation_report.h"
#include "transportd/dns/resolver.h"
#include "transportd/queue/queue_store.h"
#include "transportd/relay/queue_manager.h"
#include "transportd/observability/version.h"
#include "transportd/protocol_log/protocol_log.h"
#include "transportd/reputation/local_source_reputation.h"
#include "transportd/shared_reputation/shared_source_reputation.h"
#include "transportd/tls/tls_credentials.h"
#include "transportd/tracking/tracking_log.h"

namespace {

struct Options {
  std::filesystem::path data_dir = "/var/lib/transportd";
  std::filesystem::path admin_socket;  // default: DATA_DIR/admin.sock
  std::vector<std::string> default_bindings{"0.0.0.0:25"};
  std::string host_name;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::string metrics_listen;           // empty: no metrics endpoint
  std::string dns_servers;              // empty: /etc/resolv.conf's; "127.0.0.1:5353" for a test server
  std::string tracking_retention = "30d";
  std::string config_store;             // empty: DATA_DIR/config.db (SQLite); postgresql://... for a fleet
  std::string reputation_store;         // empty: this node's own view; redis://... shared with a fleet
  bool check_config = false;
};

// The configuration store: SQLite in the data directory (the default), or a fleet's PostgreSQL.
std::unique_ptr<transport::store::ConfigurationStore> open_configuration_store(const Options& options,
                                                                              const std::string& node) {
  if (options.config_store.empty()) {
    return std::make_unique<transport::store::SqliteStore>(options.data_dir / "config.db");
  }
  if (!options.config_store.starts_with("postgresql://") && !options.config_store.starts_with("postgres://")) {
    throw std::runtime_error("--config-store: \"" + options.config_store +
                             "\" is not a postgresql:// URI (leave it out for the SQLite file in --data-dir)");
  }
  return std::make_unique<transport::store::CachedPostgresStore>(
      options.config_store, node, options.data_dir / "config-cache.db",
      [](const std::string& problem) { transport::log::warn("fleet", problem); });
}

// The harvest defence's memory (DESIGN §10): this node's own view, written behind to reputation.db, and
// with --reputation-store shared with a fleet's other nodes through Redis (§12).
std::unique_ptr<transport::reputation::SourceReputation> open_source_reputation(
    const Options& options, const std::string& node, const transport::store::HarvestDefenceConfig& config) {
  using namespace transport;
  const auto warn = [](const std::string& problem) { log::warn("harvest", problem); };
  auto local = std::make_unique<reputation::LocalSourceReputation>(options.data_dir / "reputation.db", config, warn);
  if (options.reputation_store.empty()) return local;
  shared_reputation::SharedReputationOptions shared;
  shared.address = shared_reputation::RedisAddress::parse(options.reputation_store);
  shared.node = node;
  shared.position_file = options.data_dir / "reputation-stream.position";
  shared_reputation::SharedReputationHandlers handlers;
  handlers.info = [](const std::string& message) { log::info("harvest", message); };
  handlers.warn = warn;
  handlers.changed = [](const reputation::StateChange& change) {
    log::info("harvest", reputation::describe(change) + ": other nodes reported it");
    observability::count_source_state_change(reputation::standing_name(change.to));
  };
  auto* reachable_gauge = &observability::Metrics::instance().gauge(
      "transportd_reputation_store_reachable",
      "1 while the fleet's reputation store answers, 0 while this node judges by its own view", {});
  handlers.reachable = [reachable_gauge](bool reachable) { *reachable_gauge = reachable ? 1 : 0; };
  return std::make_unique<shared_reputation::SharedSourceReputation>(std::move(local), std::move(shared),
                                                                     std::move(handlers));
}

// Every session costs a descriptor: take all the kernel allows (the hard limit) at start-up.
void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    transport::log::info("transportd", "open file limit " + std::to_string(limit.rlim_cur));
  }
}

// A connector's own certificate pair must load: checked when it is set (and by --check-config).
void check_tls_pair(const transport::store::ReceiveConnector& connector) {
  if (connector.tls_certificate_path.empty()) return;  // the default pair
  std::string problem = transport::tls::check_pair(connector.tls_certificate_path, connector.tls_key_path);
  if (!problem.empty()) throw transport::store::ValidationError("TlsCertificatePath", problem);
}

// --check-config: reads the database as it is (read-only and without the data directory's lock, so it
// works beside a running daemon), holds it to every rule a change is held to, and creates nothing.
int check_config(const Options& options) {
  using namespace transport;
  const std::filesystem::path path = options.data_dir / "config.db";
  store::SqliteStore store(path, store::SqliteStore::Access::read_only);
  const store::Configuration loaded = store.load();  // every value goes through the property tables
  const std::vector<std::string> problems = config::ConfigurationService::problems(loaded, check_tls_pair);
  for (const std::string& problem : problems) std::cerr << "transportd: " << path.string() << ": " << problem << "\n";
  if (!problems.empty()) {
    std::cerr << "transportd: " << path.string() << " is not valid: " << problems.size() << " problem(s)\n";
    return 1;
  }
  std::cout << "transportd: " << path.string() << " is valid (schema version " << store.schema_version() << ", "
            << loaded.connectors.size() << " receive connector(s), " << loaded.accepted_domains.size()
            << " accepted domain(s), " << loaded.mailboxes.size() << " mailbox(es))\n";
  return 0;
}

// A crash between a delivery's tmp/ write and its rename leaves a file no client was promised: the client
// got no 250 and will send the message again.
void remove_interrupted_deliveries(const std::filesystem::path& mailboxes_root) {
  std::vector<std::string> problems;
  const std::size_t removed = transport::delivery::MaildirStore(mailboxes_root).remove_interrupted_deliveries(problems);
  if (removed > 0) {
    transport::log::info("delivery", "removed " + std::to_string(removed) +
                                         " unfinished delivery file(s) from Maildir tmp/ directories");
  }
  for (const std::string& problem : problems) transport::log::error("delivery", problem);
}

int run(const Options& options) {
  using namespace transport;
  const auto started = std::chrono::steady_clock::now();
  std::filesystem::create_directories(options.data_dir);
  ::chmod(options.data_dir.c_str(), 0700);
  DataDirLock lock(options.data_dir);

  // Signals are taken synchronously by the main thread: block them before any other thread exists.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // --hostname stands for both names (tests, and machines whose own name is wrong).
  const HostNames names = options.host_name.empty()
                              ? system_host_names()
                              : HostNames{options.host_name, store::to_lower(options.host_name)};
  const std::unique_ptr<store::ConfigurationStore> store = open_configuration_store(options, names.short_name);
  config::ConfigurationService configuration(*store, names.short_name, options.default_bindings, names.fqdn);
  const std::string host_name = configuration.snapshot()->host_name;  // the stored one (DESIGN §3)
  if (host_name != names.short_name) {
    log::warn("transportd", "this server keeps the name " + host_name + ", stored when its database was created, " +
                                "for HOST\\Name identities; the name " + names.short_name +
                                (options.host_name.empty() ? " of the system" : " given by --hostname") +
                                " is not used");
  }
  for (const std::string& problem : config::ConfigurationService::problems(*configuration.snapshot())) {
    log::warn("config", problem + " (fix it with adminctl; transportd --check-config lists every problem)");
  }
  tracking::TrackingLog tracking_log(options.data_dir / "tracking.db",
                                     tracking::parse_retention(options.tracking_retention));
  if (store->created()) {
    log::info("transportd", "created " +
                                (options.config_store.empty() ? (options.data_dir / "config.db").string()
                                                              : store::PostgresStore::describe(options.config_store)) +
                                " with connector \"Default " + host_name + "\"");
  }
  std::optional<fleet::FleetWatcher> fleet_watcher;
  if (!options.config_store.empty()) {
    auto& fleet_store = static_cast<store::CachedPostgresStore&>(*store);
    if (!fleet_store.reachable()) {
      log::warn("fleet", "the configuration store " + fleet_store.description() +
                             " is unreachable: serving the local copy " + (options.data_dir / "config-cache.db").string() +
                             " (configuration version " + std::to_string(configuration.snapshot()->version) +
                             ") until it is back; admin changes fail meanwhile");
    }
    // The local copy follows the snapshots this node's own changes publish too (the watcher does not
    // load those again).
    configuration.on_change([&fleet_store](const store::ConfigurationPtr& next) { fleet_store.keep_copy(next); });
    fleet_watcher.emplace(options.config_store, fleet_store, configuration);
  }
  // The configuration version a node serves (0 with SQLite, which keeps none).
  auto& config_version = observability::Metrics::instance().gauge(
      "transportd_config_version", "changes committed to the fleet's configuration store in the snapshot served (0 with SQLite)", {});
  config_version = configuration.snapshot()->version;
  configuration.on_change([&config_version](const store::ConfigurationPtr& next) { config_version = next->version; });

  if (tls::ensure_default_pair(options.data_dir, names.fqdn)) {
    log::info("tls", "generated a self-signed certificate for " + names.fqdn + " in " +
                         tls::default_pair_paths(options.data_dir).certificate.parent_path().string() +
                         " (connectors use it unless TlsCertificatePath is set)");
  }
  configuration.set_connector_check(check_tls_pair);
  remove_interrupted_deliveries(options.data_dir / "mailboxes");
  const std::filesystem::path socket_path =
      options.admin_socket.empty() ? options.data_dir / "admin.sock" : options.admin_socket;
  // Before any listener opens: a second daemon given a live socket must stop here, touching nothing.
  auto admin_socket = std::make_unique<admin::AdminSocket>(socket_path);
  // The harvest defence's memory. Made before the io_context, so that it outlives every session: the
  // last ones go with the io_context's handlers.
  const std::unique_ptr<reputation::SourceReputation> source_reputation =
      open_source_reputation(options, host_name, configuration.snapshot()->harvest_defence);
  const auto* shared_reputation = dynamic_cast<const shared_reputation::SharedSourceReputation*>(source_reputation.get());
  configuration.on_change([&source_reputation](const store::ConfigurationPtr& next) {
    source_reputation->configure(next->harvest_defence);
  });
  raise_open_file_limit();
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  protocol_log::ProtocolLogWriter protocol_log(options.data_dir / "logs" / "protocol");  // outlives the sessions
  // Delivery threads mostly wait for fsync: more of them let the kernel commit many messages' writes
  // together (a queued message costs three fsyncs, a delivered one a directory fsync).
  connectors::SmtpServer smtp(io, options.data_dir, /*delivery_threads=*/16);
  smtp.set_tracking(&tracking_log);
  smtp.set_protocol_log(&protocol_log);
  smtp.set_reputation(source_reputation.get());
  // The queue (DESIGN §11): relayed mail and reports, delivered by the queue manager through send
  // connectors (DNS with c-ares, never a blocking lookup) or into local mailboxes.
  queue::QueueStore queue_store(options.data_dir / "queue");
  // The queue's own file work (reading messages to send, records, removals, its mailbox deliveries) has
  // its own threads: behind the sessions' fsyncs in the delivery pool, sending fell behind receiving.
  asio::thread_pool queue_pool(8);
  dns::Resolver resolver(io.get_executor(), options.dns_servers);
  relay::QueueManager queue_manager(relay::QueueManagerServices{io, queue_pool, queue_store, smtp.mailboxes(),
                                                                resolver, &tracking_log, names.fqdn});
  smtp.set_queue(&queue_store, &queue_manager);
  configuration.on_change([&queue_manager](const store::ConfigurationPtr& next) { queue_manager.reconfigure(next); });
  queue_manager.start(configuration.snapshot());
  configuration.on_change([&smtp](const store::ConfigurationPtr& next) { smtp.apply(next); });
  const auto apply_log_retention = [&protocol_log](const store::ConfigurationPtr& config) {
    const store::TransportServerSettings& settings = config->transport_server;
    protocol_log::RetentionLimits limits;
    if (settings.receive_protocol_log_max_age.seconds() > 0) limits.max_age = settings.receive_protocol_log_max_age.value();
    if (const auto& size = settings.receive_protocol_log_max_directory_size) limits.max_directory_bytes = size->bytes();
    protocol_log.set_retention(limits);
  };
  configuration.on_change(apply_log_retention);
  apply_log_retention(configuration.snapshot());
  smtp.apply(configuration.snapshot());
  std::vector<std::thread> io_threads;
  for (unsigned i = 0; i < options.threads; ++i) io_threads.emplace_back([&io] { io.run(); });

  admin::AdminService admin_service(configuration, [&smtp](const store::ReceiveConnector& c, const store::Binding& b) {
    return smtp.binding_status(c, b);
  });
  admin_service.set_tracking_log(&tracking_log);
  admin_service.set_source_reputation(source_reputation.get());
  admin_service.set_queue_viewer(&queue_manager);
  admin_service.set_server_status([&, started] {
    admin::v1::TransportServer server;
    server.set_name(host_name);
    server.set_version(TRANSPORTD_VERSION);
    server.set_uptime(store::TimeSpan(std::chrono::duration_cast<std::chrono::seconds>(
                                          std::chrono::steady_clock::now() - started))
                          .to_string());
    server.set_data_path(options.data_dir.string());
    server.set_admin_endpoint("unix:" + socket_path.string());
    std::int64_t tarpitted = 0;
    std::vector<store::Binding> listeners;
    const store::ConfigurationPtr config = configuration.snapshot();
    for (const auto& connector : config->connectors) {
      auto& metrics = observability::ConnectorMetrics::of(connector.name);
      const std::int64_t open = metrics.sessions_open.load(std::memory_order_relaxed);
      const std::int64_t waiting = metrics.tarpit_sessions_waiting.load(std::memory_order_relaxed);
      tarpitted += waiting;
      server.add_connector_sessions(connector.name + ": " + std::to_string(open) + " open, " +
                                    std::to_string(waiting) + " in tarpit");
      if (!connector.enabled) continue;
      for (const auto& binding : connector.bindings) {
        if (std::find(listeners.begin(), listeners.end(), binding) == listeners.end()) listeners.push_back(binding);
      }
    }
    for (const auto& binding : listeners) server.add_listeners(binding.to_string() + " " + smtp.listener_status(binding));
    server.set_configuration_store(
        options.config_store.empty()
            ? "sqlite:" + (options.data_dir / "config.db").string()
            : store::PostgresStore::describe(options.config_store) +
                  (fleet_watcher && fleet_watcher->reachable() ? " (reachable)" : " (unreachable: serving the local copy)"));
    server.set_configuration_version(configuration.snapshot()->version);
    server.set_reputation_store(shared_reputation == nullptr ? "this server's own: " + (options.data_dir / "reputation.db").string()
                                : shared_reputation->description() +
                                      (shared_reputation->reachable() ? " (reachable)" : " (unreachable: judging by this server's own view)"));
    if (fleet_watcher) {
      for (const std::string& node : fleet_watcher->nodes()) server.add_fleet_nodes(node);
    }
    server.set_open_sessions(static_cast<std::int32_t>(smtp.session_count()));
    server.set_tarpitted_sessions(static_cast<std::int32_t>(tarpitted));
    return server;
  });
  admin::AdminServer admin_server(io, std::move(admin_socket), admin_service);
  std::unique_ptr<observability::MetricsServer> metrics_server;
  if (!options.metrics_listen.empty()) {
    // A node serving its local copy is healthy (it takes mail); /healthz says so in its body.
    const auto fleet_detail = [&]() -> std::string {
      std::string detail;
      if (fleet_watcher) {
        detail += std::string("config store ") + store::PostgresStore::describe(options.config_store) +
                  (fleet_watcher->reachable() ? " reachable" : " unreachable, serving the local copy") +
                  ", configuration version " + std::to_string(configuration.snapshot()->version) + "\n";
      }
      if (shared_reputation != nullptr) {
        detail += "reputation store " + shared_reputation->description() +
                  (shared_reputation->reachable() ? " reachable" : " unreachable, judging by this node's own view") + "\n";
      }
      return detail;
    };
    metrics_server = std::make_unique<observability::MetricsServer>(
        io, options.metrics_listen,
        [&] {
          return observability::listener_problem(*configuration.snapshot(),
                                                 [&smtp](const store::ReceiveConnector& c, const store::Binding& b) {
                                                   return smtp.binding_status(c, b);
                                                 })
              .empty();
        },
        fleet_detail);
    log::info("transportd", "metrics on http://" + options.metrics_listen + "/metrics");
  }
  // Changes that decay alone makes to the harvest defence's records reach the log and the gauges.
  asio::steady_timer reputation_timer(io);
  std::function<void()> report_reputation = [&] {
    reputation_timer.expires_after(std::chrono::seconds(10));
    reputation_timer.async_wait([&](std::error_code ec) {
      if (ec) return;
      observability::report_reputation_changes(*source_reputation);
      report_reputation();
    });
  };
  report_reputation();
  log::info("transportd", "ready: admin API on unix:" + socket_path.string() + ", data in " +
                              options.data_dir.string() + ", " +
                              std::to_string(configuration.snapshot()->connectors.size()) + " receive connector(s)");

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log::info("transportd", std::string("stopping on ") + (signal_number == SIGTERM ? "SIGTERM" : "SIGINT"));
  if (fleet_watcher) fleet_watcher->stop();  // no new snapshot while the parts it would reach stop
  admin_server.stop(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (metrics_server) metrics_server->stop();
  smtp.shut_down(std::chrono::seconds(10));
  queue_manager.stop();
  asio::post(io, [&reputation_timer] { reputation_timer.cancel(); });
  work.reset();
  io.stop();
  for (auto& thread : io_threads) thread.join();
  // File work of the sessions and the queue finishes before the queue's store goes away.
  smtp.delivery_pool().join();
  queue_pool.join();
  log::info("transportd", "stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"transportd: SMTP receive transport with tarpitting receive connectors"};
  app.add_option("--data-dir", options.data_dir, "Directory for the configuration database, mailboxes and the admin socket")
      ->capture_default_str();
  app.add_option("--admin-socket", options.admin_socket, "Unix socket of the admin API (default: DATA_DIR/admin.sock)");
  app.add_option("--default-bindings", options.default_bindings,
                 "Bindings (IP:PORT, comma-separated) of the default connector, used only when the database is created")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--hostname", options.host_name,
                 "Server name instead of the system's: the HOST of HOST\\Name identities (stored when the database "
                 "is created, kept after) and the default Fqdn");
  app.add_option("--threads", options.threads, "I/O threads serving SMTP sessions")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  app.add_option("--dns-server", options.dns_servers,
                 "DNS servers for MX and smart host lookups, IP[:port][,...] (default: those of /etc/resolv.conf)");
  app.add_option("--metrics-listen", options.metrics_listen,
                 "Serve Prometheus /metrics and /healthz on IP:PORT (e.g. 127.0.0.1:9125); off unless given");
  app.add_option("--tracking-retention", options.tracking_retention,
                 "How long message tracking events are kept: 30d, 12h, ...")
      ->capture_default_str();
  app.add_option("--config-store", options.config_store,
                 "A fleet's shared configuration: postgresql://USER@HOST:PORT/DB (default: the SQLite file "
                 "DATA_DIR/config.db). Receive connectors stay this server's; everything else is shared");
  app.add_option("--reputation-store", options.reputation_store,
                 "A fleet's shared source reputation: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (default: this "
                 "server's own, DATA_DIR/reputation.db). Each node judges by its own view and exchanges what it records")
      ->check([](const std::string& text) {  // refused before anything starts, naming the mistake
        try {
          transport::shared_reputation::RedisAddress::parse(text);
          return std::string();
        } catch (const std::invalid_argument& e) {
          return std::string(e.what());
        }
      });
  app.add_flag("--check-config", options.check_config,
               "Check the configuration database against every rule, read-only (also while transportd runs), and exit");
  app.set_version_flag("--version", std::string("transportd ") + TRANSPORTD_VERSION);
  CLI11_PARSE(app, argc, argv);

  try {
    return options.check_config ? check_config(options) : run(options);
  } catch (const std::exception& e) {
    transport::log::error("transportd", e.what());
    std::cerr << "transportd: " << e.what() << "\n";
    return 1;
  }
}
