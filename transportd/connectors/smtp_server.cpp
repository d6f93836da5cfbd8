// SmtpServer: accept → select connector → admit → session.
#include "transportd/connectors/smtp_server.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <sys/stat.h>

#include <map>

#include "store/connector_selection.h"
#include "transportd/log.h"
#include "transportd/observability/connector_metrics.h"
#include "transportd/reputation/source_reputation.h"
#include "transportd/smtp/reply.h"
#include "transportd/tls/tls_credentials.h"

namespace transport::connectors {

namespace {

store::IpAddress to_store(const asio::ip::address& address) {
  if (address.is_v4()) return store::IpAddress::v4(address.to_v4().to_uint());
  return store::IpAddress::v6(address.to_v6().to_bytes());  // v4-mapped becomes IPv4 here
}

// Answers a connection we will not serve with one reply, then closes it. `connector` is the one selected,
// or null when none was (then enhanced status codes are on, their default).
void refuse(asio::ip::tcp::socket socket, const store::ReceiveConnector* connector, const smtp::Reply& reply) {
  auto owned = std::make_shared<asio::ip::tcp::socket>(std::move(socket));
  auto text = std::make_shared<std::string>();
  smtp::append_reply(*text, reply, connector == nullptr || connector->enhanced_status_codes_enabled);
  if (connector != nullptr) observability::ConnectorMetrics::of(connector->name).count_reply(reply.code);
  asio::co_spawn(
      owned->get_executor(),
      [owned, text]() -> asio::awaitable<void> {
        co_await asio::async_write(*owned, asio::buffer(*text), asio::experimental::as_tuple(asio::use_awaitable));
        std::error_code ignored;
        owned->shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        owned->close(ignored);
      },
      asio::detached);
}

// What admitted a session, released when it ends: its place in the connector's limits and its count
// in the source reputation (which caps a Discredited source's concurrent connections).
class SessionAdmission final : public smtp::Admission {
 public:
  SessionAdmission(ConnectionLimits::Ticket ticket, reputation::SourceReputation* reputation,
                   const store::IpAddress& client)
      : ticket_(std::move(ticket)), reputation_(reputation), client_(client) {}
  ~SessionAdmission() override {
    if (reputation_ != nullptr) reputation_->close_connection(client_);
  }

 private:
  ConnectionLimits::Ticket ticket_;
  reputation::SourceReputation* reputation_;  // null: the connection was not counted
  store::IpAddress client_;
};

}  // namespace

SmtpServer::SmtpServer(asio::io_context& io, const std::filesystem::path& data_dir, std::size_t delivery_threads)
    : io_(io),
      default_certificate_(tls::default_pair_paths(data_dir).certificate),
      default_key_(tls::default_pair_paths(data_dir).key),
      mailboxes_(data_dir / "mailboxes"),
      delivery_pool_(delivery_threads),
      // Two hashes at once (CPU and 64 MiB each); an address may have 32 waiting, past which its AUTH
      // gets a temporary 454 instead of a place in the queue.
      passwords_(auth::PasswordVerifier::Limits{.workers = 2, .max_queued_per_source = 32}),
      services_{mailboxes_, delivery_pool_, passwords_, /*tracking=*/nullptr, /*protocol_log=*/nullptr,
                data_dir / "spool"},
      listeners_(io, [this](asio::ip::tcp::socket socket) { on_connection(std::move(socket)); }) {
  std::filesystem::create_directories(services_.spool_directory);
  ::chmod(services_.spool_directory.c_str(), 0700);
  delivery::SpoolFile::remove_leftovers(services_.spool_directory);
}

SmtpServer::~SmtpServer() {
  delivery_pool_.join();
}

void SmtpServer::apply(store::ConfigurationPtr config) {
  // Every connector's series exist from the start (at 0), not only after its first session.
  for (const auto& connector : config->connectors) observability::ConnectorMetrics::of(connector.name);
  auto [contexts, problems] = load_tls_contexts(*config);
  serving_.store(std::make_shared<const smtp::ServingConfig>(config, std::move(contexts), std::move(problems)));
  listeners_.reconcile(std::move(config));
}

std::string SmtpServer::binding_status(const store::ReceiveConnector& connector, const store::Binding& binding) const {
  std::string status = listener_status(binding);
  if (std::string problem = serving_.load()->tls_problem(connector.id); !problem.empty()) {
    status += "; STARTTLS off: " + problem;
  }
  return status;
}

std::pair<smtp::TlsContexts, smtp::TlsProblems> SmtpServer::load_tls_contexts(const store::Configuration& config) {
  const auto pair_of = [this](const store::ReceiveConnector& connector) {
    if (connector.tls_certificate_path.empty()) return tls::ContextCache::Pair{default_certificate_, default_key_};
    return tls::ContextCache::Pair{connector.tls_certificate_path, connector.tls_key_path};
  };
  const auto offers_tls = [](const store::ReceiveConnector& connector) {
    return connector.enabled && connector.auth_mechanism.has(store::AuthMechanismFlag::tls);
  };
  std::vector<tls::ContextCache::Pair> pairs;
  for (const store::ReceiveConnector& connector : config.connectors) {
    if (offers_tls(connector)) pairs.push_back(pair_of(connector));
  }
  const std::map<tls::ContextCache::Pair, tls::ContextCache::Loaded> loaded = tls_cache_.refresh(pairs);
  smtp::TlsContexts contexts;
  smtp::TlsProblems problems;
  for (const store::ReceiveConnector& connector : config.connectors) {
    if (!offers_tls(connector)) continue;
    const tls::ContextCache::Loaded& pair = loaded.at(pair_of(connector));
    if (pair.context) {
      contexts.emplace(connector.id, pair.context);
      continue;
    }
    problems.emplace(connector.id, pair.problem);
    if (pair.reloaded) {
      log::error("tls", "connector \"" + connector.name + "\": " + pair.problem + "; STARTTLS is not offered");
    }
  }
  return {std::move(contexts), std::move(problems)};
}

void SmtpServer::on_connection(asio::ip::tcp::socket socket) {
  std::error_code ec;
  const auto local = socket.local_endpoint(ec);
  const auto remote = ec ? decltype(local)() : socket.remote_endpoint(ec);
  if (ec) return;  // the client is already gone
  std::shared_ptr<const smtp::ServingConfig> serving = serving_.load();
  const store::Binding local_binding{to_store(local.address()), local.port()};
  const store::IpAddress remote_address = to_store(remote.address());

  store::ConnectorSelection selection =
      store::select_connector(serving->config->connectors, local_binding, remote_address);
  if (selection.connector == nullptr) {
    refuse(std::move(socket), nullptr, {421, "4.3.2", "Service not available"});
    return;
  }
  const store::ReceiveConnector& connector = *selection.connector;
  std::string refusal;
  std::optional<ConnectionLimits::Ticket> ticket = limits_.admit(connector, remote_address, refusal);
  if (!ticket) {
    log::warn("smtp", "refused " + remote_address.to_string() + " on \"" + connector.name + "\": " + refusal);
    refuse(std::move(socket), &connector, {421, "4.3.2", "Too many connections, try again later"});
    return;
  }
  smtp::SessionFacts facts;
  facts.remote = remote_address;
  facts.local = local_binding;
  smtp::grant_connector_trust(connector, facts);  // ExternalAuthoritative (DESIGN §3)
  // A connector whose certificate pair stopped loading must not offer STARTTLS (DESIGN §3).
  facts.tls_available = serving->tls_context(connector.id) != nullptr;
  // A Discredited source may hold only a few connections at once (DESIGN §10); trusted and untarpitted
  // connectors are exempt, as everywhere.
  reputation::SourceReputation* counted = nullptr;
  reputation::Judgement judgement;  // the session starts with it: the source is judged once per connection
  judgement.exempt = true;
  if (services_.reputation != nullptr && connector.tarpit_interval.seconds() > 0 && !facts.authenticated) {
    judgement = services_.reputation->judge(remote_address, reputation::Clock::now());
    if (!services_.reputation->open_connection(remote_address, judgement)) {
      log::warn("harvest", "refused " + remote_address.to_string() + " on \"" + connector.name +
                               "\": a Discredited source already holds its connections");
      refuse(std::move(socket), &connector, {421, "4.3.2", "Too many connections from your address, try again later"});
      return;
    }
    counted = services_.reputation;
  }
  smtp::start_session(std::move(socket), std::move(serving), connector, std::move(facts), judgement,
                      std::make_unique<SessionAdmission>(std::move(*ticket), counted, remote_address), services_,
                      registry_);
}

void SmtpServer::shut_down(std::chrono::seconds grace) {
  listeners_.close_all();
  registry_.shut_down_all(grace);
  std::size_t left = registry_.wait_until_empty(std::chrono::steady_clock::now() + grace + std::chrono::seconds(5));
  if (left > 0) log::warn("smtp", std::to_string(left) + " session(s) still open at shutdown");
}

}  // namespace transport::connectors
