// QueueManager: routing, connections, results, reports and the queue viewer; see the header.
#include "transportd/relay/queue_manager.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/ssl/context.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <set>

#include "store/text_util.h"
#include "transportd/delivery/maildir.h"
#include "transportd/dns/resolver.h"
#include "transportd/dsn/delivery_report.h"
#include "transportd/log.h"
#include "transportd/observability/metrics.h"
#include "transportd/outbound/smtp_client.h"
#include "transportd/queue/queue_store.h"
#include "transportd/queue/retry_schedule.h"
#include "transportd/routing/recipient_router.h"
#include "transportd/tracking/tracking_log.h"

namespace transport::relay {

namespace {

// A queue opens one more connection per this many waiting messages (within the connection limits).
constexpr std::size_t kItemsPerConnection = 8;

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string domain_of(std::string_view address) {
  const std::size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : store::to_lower(address.substr(at + 1));
}

bool waiting(const queue::QueuedRecipient& recipient) { return recipient.state == queue::RecipientState::ready; }

// The stored form starts with our Return-Path: line (final delivery's trace, RFC 5321 §4.4); a relay
// must not send it on.
class WithoutReturnPath : public outbound::MessageContent {
 public:
  explicit WithoutReturnPath(outbound::MessageContent& inner) : inner_(inner) {}
  asio::awaitable<std::string_view> next() override {
    std::string_view chunk = co_await inner_.next();
    if (first_) {
      first_ = false;
      if (chunk.starts_with("Return-Path:")) {
        const std::size_t end = chunk.find('\n');
        chunk = end == std::string_view::npos ? std::string_view() : chunk.substr(end + 1);
        if (chunk.empty()) chunk = co_await inner_.next();
      }
    }
    co_return chunk;
  }
  const std::string& error() const override { return inner_.error(); }

 private:
  outbound::MessageContent& inner_;
  bool first_ = true;
};

// Where a recipient goes now, by the current configuration.
NextHop next_hop(const routing::Decision& decision, std::string_view recipient_domain) {
  NextHop hop;
  switch (decision.verdict) {
    case routing::Verdict::local:
      hop.type = DeliveryType::mailbox;
      hop.domain = "mailbox delivery";
      break;
    case routing::Verdict::relay:
      hop.connector_id = decision.connector->id;
      if (decision.connector->smart_hosts.empty()) {
        hop.type = DeliveryType::dns;
        hop.domain = std::string(recipient_domain);
      } else {
        hop.type = DeliveryType::smart_host;
        hop.domain = decision.connector->name;
      }
      break;
    default:
      hop.type = DeliveryType::unreachable;
      hop.domain = "Unreachable";
      break;
  }
  return hop;
}

dsn::RecipientReport recipient_report(const queue::QueuedRecipient& recipient, dsn::Action action, std::int64_t now,
                                      std::int64_t retry_until) {
  dsn::RecipientReport report;
  report.final_recipient = recipient.address;
  report.original_recipient = recipient.dsn.orcpt;
  report.action = action;
  const std::string& text = recipient.last_error;
  int code = 0;
  if (text.size() >= 3 && std::all_of(text.begin(), text.begin() + 3, [](char c) { return c >= '0' && c <= '9'; })) {
    code = std::stoi(text.substr(0, 3));
  }
  std::string enhanced;
  if (text.size() > 4) {
    const std::size_t end = text.find(' ', 4);
    const std::string candidate = text.substr(4, end == std::string::npos ? std::string::npos : end - 4);
    if (std::count(candidate.begin(), candidate.end(), '.') == 2 && !candidate.empty() &&
        (candidate[0] == '2' || candidate[0] == '4' || candidate[0] == '5')) {
      enhanced = candidate;
    }
  }
  report.status = dsn::status_of_reply(code == 0 ? (action == dsn::Action::delayed ? 450 : 550) : code, enhanced);
  if (action == dsn::Action::failed && report.status[0] == '4') report.status[0] = '5';  // expired: 5.4.7
  report.remote_mta = recipient.remote_mta;
  report.diagnostic = text;
  report.last_attempt = now;
  report.will_retry_until = retry_until;
  return report;
}

}  // namespace

QueueManager::QueueManager(QueueManagerServices services)
    : services_(std::move(services)),
      strand_(asio::make_strand(services_.io)),
      timer_(strand_),
      metrics_timer_(strand_),
      // Opportunistic TLS, as every MTA does: encrypt when offered, without refusing unverifiable peers.
      client_tls_(std::make_unique<asio::ssl::context>(outbound::make_client_tls_context())) {}

QueueManager::~QueueManager() = default;

template <class Result>
Result QueueManager::on_strand(std::function<Result()> work) {
  std::promise<Result> promise;
  std::future<Result> future = promise.get_future();
  asio::post(strand_, [&] {
    try {
      promise.set_value(work());
    } catch (...) {
      promise.set_exception(std::current_exception());
    }
  });
  return future.get();
}

void QueueManager::start(store::ConfigurationPtr config) {
  // Sessions may be accepted at once: their queue adds wait in the store until the load is done.
  services_.store.hold_adds_until_loaded();
  asio::post(strand_, [this, config = std::move(config)]() mutable {
    config_ = std::move(config);
    router_ = std::make_unique<routing::RecipientRouter>(*config_);
    publish_depths();
  });
  asio::post(services_.pool, [this] {
    const auto started = std::chrono::steady_clock::now();
    std::vector<std::string> problems;
    std::vector<queue::QueuedMessage> loaded = services_.store.load(problems);
    for (const std::string& problem : problems) log::warn("queue", problem);
    if (!loaded.empty()) {
      const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
      log::info("queue", std::to_string(loaded.size()) + " message(s) in the queue from before the start (loaded in " +
                             std::to_string(took.count()) + " ms)");
    }
    asio::post(strand_, [this, loaded = std::move(loaded)]() mutable {
      for (queue::QueuedMessage& message : loaded) {
        MessageState& state = admit(std::move(message));
        asio::co_spawn(strand_, settle(state.message.id), asio::detached);
      }
      kick_all();
      schedule_wakeup();
    });
  });
}

void QueueManager::reconfigure(store::ConfigurationPtr config) {
  asio::post(strand_, [this, config = std::move(config)]() mutable {
    config_ = std::move(config);
    router_ = std::make_unique<routing::RecipientRouter>(*config_);
    // Everything waiting is routed again: a new, changed or removed send connector applies at once.
    const std::vector<Item> items = queues_.take_all_routed();
    unplace(items);
    for (const Item& item : items) {
      if (MessageState* state = find_message(item.message_id)) route(*state);
    }
    queues_.drop_idle();
    queues_.retry_interval_changed(config_->transport_server.outbound_connection_failure_retry_interval.seconds());
    // The timeouts may have changed.
    timeline_.clear();
    for (const auto& [id, state] : messages_) add_deadlines(state);
    kick_all();
    schedule_wakeup();
  });
}

void QueueManager::submit(queue::QueuedMessage message) {
  asio::post(strand_, [this, message = std::move(message)]() mutable {
    MessageState& state = admit(std::move(message));
    // Recipients accepted only to be reported (validation off) are settled at once.
    asio::co_spawn(strand_, settle(state.message.id), asio::detached);
    kick_all();
    schedule_wakeup();
  });
}

void QueueManager::stop() {
  asio::post(strand_, [this] {
    stopped_ = true;
    timer_.cancel();
    metrics_timer_.cancel();
  });
}

QueueManager::MessageState& QueueManager::admit(queue::QueuedMessage message) {
  std::string id = message.id;
  MessageState& state = messages_[id];
  state.message = std::move(message);
  state.placed.assign(state.message.recipients.size(), false);
  route(state);
  add_deadlines(state);
  return state;
}

void QueueManager::add_deadlines(const MessageState& state) {
  if (!config_) return;
  const queue::RetrySchedule schedule(config_->transport_server);
  timeline_.emplace(schedule.expiry_time(state.message), state.message.id);
  if (!state.message.delay_reported && !state.message.mail_from.empty()) {
    timeline_.emplace(schedule.delay_report_time(state.message), state.message.id);
  }
}

void QueueManager::unplace(const std::vector<Item>& items) {
  for (const Item& item : items) {
    if (MessageState* state = find_message(item.message_id)) {
      for (std::uint32_t index : item.recipients) state->placed[index] = false;
    }
  }
}

void QueueManager::route(MessageState& state) {
  if (!router_ || state.message.suspended) return;
  queue::QueuedMessage& message = state.message;
  // Recipients some queue holds, or a connection has, stay where they are.
  std::map<std::string, std::pair<NextHop, Item>> groups;
  for (std::uint32_t i = 0; i < message.recipients.size(); ++i) {
    const queue::QueuedRecipient& recipient = message.recipients[i];
    if (!waiting(recipient) || state.placed[i]) continue;
    state.placed[i] = true;
    const routing::Decision decision = router_->check(recipient.address, /*may_relay=*/true);
    NextHop hop = next_hop(decision, domain_of(recipient.address));
    auto [it, made] = groups.try_emplace(hop.key());
    if (made) {
      it->second.first = hop;
      it->second.second.message_id = message.id;
    }
    it->second.second.recipients.push_back(i);
  }
  for (auto& [key, group] : groups) queues_.add(group.first, std::move(group.second));
}

void QueueManager::kick_all() {
  for (const std::string& key : queues_.due(now_seconds())) kick(key);
}

void QueueManager::kick(const std::string& key) {
  if (stopped_ || !config_) return;
  DeliveryQueue* q = queues_.find(key);
  if (q == nullptr || q->hop.type == DeliveryType::unreachable || q->status == QueueStatus::suspended) return;
  const store::TransportServerSettings& settings = config_->transport_server;
  const std::size_t per_hop = static_cast<std::size_t>(settings.max_per_domain_outbound_connections.value_or(1 << 30));
  const std::size_t total = static_cast<std::size_t>(settings.max_outbound_connections.value_or(1 << 30));
  const std::int64_t now = now_seconds();
  // One connection per few waiting messages, within both limits: a backlog opens several at once. The
  // count stops at what the free connections could take, so a kick costs little however long the queue.
  if (q->connections >= per_hop || connections_ >= total) return;
  const std::size_t wanted = std::min(per_hop - q->connections, total - connections_) * kItemsPerConnection;
  std::size_t ready = 0;
  for (auto it = q->items.begin(); it != q->items.end() && ready < wanted; ++it) {
    if (it->not_before <= now) ++ready;
  }
  while (ready > 0 && q->connections < per_hop && connections_ < total) {
    ++q->connections;
    ++connections_;
    if (q->hop.type == DeliveryType::mailbox) {
      asio::co_spawn(strand_, run_mailbox_delivery(key), asio::detached);
    } else {
      asio::co_spawn(strand_, run_connection(key), asio::detached);
    }
    ready = ready > kItemsPerConnection ? ready - kItemsPerConnection : 0;
  }
}

void QueueManager::schedule_wakeup() {
  if (stopped_ || !config_) return;
  std::int64_t next = queues_.next_due();
  if (!timeline_.empty() && (next == 0 || timeline_.begin()->first < next)) next = timeline_.begin()->first;
  if (next == 0) return;
  const std::int64_t delay = std::max<std::int64_t>(0, next - now_seconds());
  timer_.expires_after(std::chrono::seconds(delay) + std::chrono::milliseconds(5));
  timer_.async_wait([this](std::error_code ec) {
    if (!ec) on_wakeup();
  });
}

void QueueManager::on_wakeup() {
  if (stopped_ || !config_) return;
  const std::int64_t now = now_seconds();
  const queue::RetrySchedule schedule(config_->transport_server);
  std::vector<std::string> expired, delayed;
  while (!timeline_.empty() && timeline_.begin()->first <= now) {
    std::string id = std::move(timeline_.begin()->second);
    timeline_.erase(timeline_.begin());
    const MessageState* state = find_message(id);
    if (state == nullptr) continue;
    if (state->in_flight > 0) {
      timeline_.emplace(now + 1, std::move(id));  // look again once its delivery attempt ends
      continue;
    }
    if (schedule.expired(state->message, now)) {
      if (std::any_of(state->message.recipients.begin(), state->message.recipients.end(), waiting)) {
        expired.push_back(std::move(id));
      }
    } else if (schedule.delay_report_due(state->message, now)) {
      delayed.push_back(std::move(id));
    }
  }
  for (std::string& id : expired) {
    unplace(queues_.remove_message(id));
    asio::co_spawn(strand_,
                   fail_waiting(std::move(id), "550 5.4.7 Message expired: it could not be delivered within the "
                                               "MessageExpirationTimeout of " +
                                                   config_->transport_server.message_expiration_timeout.to_string()),
                   asio::detached);
  }
  for (std::string& id : delayed) asio::co_spawn(strand_, report_delay(std::move(id)), asio::detached);
  queues_.drop_idle();
  kick_all();
  schedule_wakeup();
}

asio::awaitable<void> QueueManager::run_connection(std::string key) {
  store::ConfigurationPtr config = config_;
  const queue::RetrySchedule schedule(config->transport_server);
  DeliveryQueue* q = queues_.find(key);
  const NextHop hop = q != nullptr ? q->hop : NextHop{};
  const store::SendConnector* connector = nullptr;
  for (const store::SendConnector& c : config->send_connectors) {
    if (c.id == hop.connector_id) connector = &c;
  }

  // Where to connect: the smart hosts in order, or the domain's MX hosts by preference.
  std::vector<outbound::Endpoint> targets;
  std::string failure;
  bool permanent = false;
  if (connector == nullptr) {
    failure = "the send connector of this queue no longer exists";
  } else if (!connector->smart_hosts.empty()) {
    for (const store::SmartHost& smart_host : connector->smart_hosts) {
      const std::uint16_t port = smart_host.port != 0 ? smart_host.port : static_cast<std::uint16_t>(connector->port);
      if (smart_host.is_address()) {
        targets.push_back(outbound::Endpoint{smart_host.host, asio::ip::make_address(smart_host.host), port});
        continue;
      }
      const dns::HostAddresses found = co_await services_.resolver.resolve_host(smart_host.host);
      if (found.status != dns::LookupStatus::ok) failure = found.error;
      for (const asio::ip::address& address : found.addresses) {
        targets.push_back(outbound::Endpoint{smart_host.host, address, port});
      }
    }
  } else {
    const dns::MailRoute route = co_await services_.resolver.resolve_mail_domain(hop.domain);
    if (route.status == dns::LookupStatus::ok) {
      for (const dns::MailHost& host : route.hosts) {
        for (const asio::ip::address& address : host.addresses) {
          targets.push_back(outbound::Endpoint{host.name, address, static_cast<std::uint16_t>(connector->port)});
        }
      }
    } else {
      failure = route.error;
      permanent = route.status == dns::LookupStatus::no_such_domain || route.status == dns::LookupStatus::null_mx;
    }
  }

  outbound::SmtpReply last;
  last.text = failure;
  bool connected = false;
  if (connector != nullptr) {
    outbound::ClientOptions options;
    options.helo_name = connector->fqdn.empty() ? services_.fqdn : connector->fqdn;
    options.require_tls = connector->require_tls;
    options.auth = connector->smart_host_auth_mechanism;
    options.auth_user = connector->auth_user;
    options.auth_password = connector->auth_password;
    options.inactivity_timeout = std::chrono::seconds(connector->connection_inactivity_timeout.seconds());
    if (connector->max_message_size) options.max_message_size = connector->max_message_size->bytes();
    const std::size_t per_connection = static_cast<std::size_t>(connector->smtp_max_messages_per_connection);
    for (const outbound::Endpoint& target : targets) {
      if (stopped_) break;
      outbound::SmtpReply refused;
      std::unique_ptr<outbound::SmtpConnection> connection =
          co_await outbound::SmtpConnection::open(strand_, target, options, *client_tls_, refused);
      if (!connection) {
        last = refused;
        continue;
      }
      connected = true;
      queues_.connected(key);
      std::size_t sent = 0;
      while (sent < per_connection && !stopped_) {
        std::optional<Item> item = queues_.take(key, now_seconds());
        if (!item) break;
        MessageState* state = find_message(item->message_id);
        if (state == nullptr) {
          queues_.finished(key);
          continue;
        }
        outbound::OutboundEnvelope envelope;
        envelope.mail_from = state->message.mail_from;
        envelope.dsn = state->message.dsn;
        envelope.eight_bit = state->message.eight_bit;
        envelope.smtputf8 = state->message.smtputf8;
        envelope.size = state->message.size;
        for (std::uint32_t index : item->recipients) {
          const queue::QueuedRecipient& recipient = state->message.recipients[index];
          envelope.recipients.push_back(outbound::OutboundRecipient{recipient.address, recipient.dsn});
        }
        ++state->in_flight;
        outbound::FileContent file(services_.store.content_path(item->message_id), services_.pool);
        WithoutReturnPath content(file);
        const outbound::MessageResult result = co_await connection->send(envelope, content);
        co_await finish_item(key, std::move(*item), result, target.host_name, connection->capabilities().dsn);
        ++sent;
        if (!result.connection_usable) break;
      }
      co_await connection->quit();
      break;
    }
  }

  if (q = queues_.find(key); q != nullptr) {
    --q->connections;
    --connections_;
    if (!connected) {
      if (permanent) {
        fail_hop(key, "550 5.4.4 " + failure);
      } else {
        const std::string error = last.to_string().empty() ? std::string("no next hop could be reached") : last.to_string();
        queues_.connection_failed(key, error, now_seconds(),
                                  config->transport_server.outbound_connection_failure_retry_interval.seconds());
        log::warn("queue", "next hop " + hop.domain + " unreachable: " + error);
        // The recipients waiting for it carry the reason too (get-message, delay reports).
        for (const Item& item : q->items) {
          if (MessageState* state = find_message(item.message_id)) {
            for (std::uint32_t index : item.recipients) state->message.recipients[index].last_error = error;
            track(tracking::EventId::defer, state->message, item.recipients, error, hop.domain);
          }
        }
      }
    } else if (q->status == QueueStatus::active && q->connections == 0) {
      q->status = QueueStatus::ready;
    }
  }
  queues_.drop_idle();
  kick_all();
  schedule_wakeup();
}

void QueueManager::fail_hop(const std::string& key, const std::string& text) {
  std::set<std::string> ids;
  while (std::optional<Item> item = queues_.take(key, std::numeric_limits<std::int64_t>::max())) {
    queues_.finished(key);
    if (MessageState* state = find_message(item->message_id)) {
      for (std::uint32_t index : item->recipients) {
        queue::QueuedRecipient& recipient = state->message.recipients[index];
        if (!waiting(recipient)) continue;
        recipient.state = queue::RecipientState::failed;
        recipient.last_error = text;
      }
      track(tracking::EventId::fail, state->message, item->recipients, text, services_.fqdn);
      ids.insert(item->message_id);
    }
  }
  for (const std::string& id : ids) asio::co_spawn(strand_, settle(id), asio::detached);
}

asio::awaitable<void> QueueManager::finish_item(const std::string& key, Item item, const outbound::MessageResult& result,
                                                const std::string& remote_mta, bool hop_takes_dsn) {
  MessageState* state = find_message(item.message_id);
  if (state == nullptr) {
    queues_.finished(key);
    co_return;
  }
  if (state->in_flight > 0) --state->in_flight;
  const std::int64_t now = now_seconds();
  Item deferred{item.message_id, {}, queue::RetrySchedule(config_->transport_server).after_transient_failure(now)};
  const DeliveryQueue* hop = queues_.find(key);
  const bool to_mailbox = hop != nullptr && hop->hop.type == DeliveryType::mailbox;
  for (std::size_t i = 0; i < item.recipients.size(); ++i) {
    const std::uint32_t index = item.recipients[i];
    queue::QueuedRecipient& recipient = state->message.recipients[index];
    const outbound::SmtpReply& reply = i < result.recipients.size() ? result.recipients[i] : result.message;
    recipient.last_error = reply.to_string();
    recipient.remote_mta = remote_mta;
    if (reply.code >= 200 && reply.code < 300) {
      recipient.state = queue::RecipientState::delivered;
    } else if (reply.code >= 500) {
      recipient.state = queue::RecipientState::failed;
    } else {
      deferred.recipients.push_back(index);
    }
    count_outcome(key, recipient.state);
    const tracking::EventId event = recipient.state == queue::RecipientState::delivered
                                        ? (to_mailbox ? tracking::EventId::deliver : tracking::EventId::send)
                                    : recipient.state == queue::RecipientState::failed ? tracking::EventId::fail
                                                                                       : tracking::EventId::defer;
    track(event, state->message, std::vector<std::uint32_t>(1, index), recipient.last_error, remote_mta);
  }
  // NOTIFY=SUCCESS (RFC 3461 §4.2, §6.2): a next hop that speaks DSN was handed the request and
  // reports itself; otherwise we do — "delivered" into a mailbox, "relayed" to a hop without DSN.
  std::vector<dsn::RecipientReport> successes;
  if (!hop_takes_dsn) {
    const dsn::Action action = to_mailbox ? dsn::Action::delivered : dsn::Action::relayed;
    for (std::uint32_t index : item.recipients) {
      const queue::QueuedRecipient& recipient = state->message.recipients[index];
      if (recipient.state == queue::RecipientState::delivered &&
          dsn::report_wanted(state->message.mail_from, recipient.dsn.notify, action)) {
        successes.push_back(recipient_report(recipient, action, now, 0));
      }
    }
  }
  if (deferred.recipients.empty()) {
    queues_.finished(key);
  } else {
    if (DeliveryQueue* q = queues_.find(key)) q->last_error = result.message.to_string();
    queues_.put_back(key, std::move(deferred));
  }
  if (!successes.empty()) co_await queue_report(item.message_id, std::move(successes));
  co_await settle(item.message_id);
}

asio::awaitable<void> QueueManager::run_mailbox_delivery(std::string key) {
  const std::string mailbox_key = key;
  while (!stopped_) {
    std::optional<Item> item = queues_.take(mailbox_key, now_seconds());
    if (!item) break;
    MessageState* state = find_message(item->message_id);
    if (state == nullptr) {
      queues_.finished(mailbox_key);
      continue;
    }
    std::vector<std::string> mailboxes;
    for (std::uint32_t index : item->recipients) {
      const routing::Decision decision = router_->check(state->message.recipients[index].address, true);
      mailboxes.push_back(decision.mailbox != nullptr ? decision.mailbox->primary_smtp_address
                                                      : state->message.recipients[index].address);
    }
    ++state->in_flight;
    const std::filesystem::path path = services_.store.content_path(item->message_id);
    delivery::DeliveryResult delivered = co_await asio::co_spawn(
        services_.pool,
        [&]() -> asio::awaitable<delivery::DeliveryResult> { co_return services_.mailboxes.deliver_file(mailboxes, path); },
        asio::use_awaitable);
    co_await asio::post(strand_, asio::use_awaitable);
    outbound::MessageResult result;
    result.message.code = delivered.ok ? 250 : 451;
    result.message.enhanced = delivered.ok ? "2.0.0" : "4.3.0";
    result.message.text = delivered.ok ? "Delivered to the mailbox" : delivered.error;
    result.connection_usable = true;
    co_await finish_item(mailbox_key, std::move(*item), result, services_.fqdn, false);
  }
  if (DeliveryQueue* q = queues_.find(mailbox_key)) {
    --q->connections;
    --connections_;
  }
  queues_.drop_idle();
  schedule_wakeup();
}

asio::awaitable<bool> QueueManager::append_records(const std::string& id, std::vector<queue::Record> records) {
  std::string error;
  const bool ok = co_await asio::co_spawn(
      services_.pool,
      [&]() -> asio::awaitable<bool> {
        for (const queue::Record& record : records) {
          if (!services_.store.append(id, record, error)) co_return false;
        }
        co_return true;
      },
      asio::use_awaitable);
  co_await asio::post(strand_, asio::use_awaitable);
  if (!ok) log::error("queue", "cannot record the state of message " + id + ": " + error);
  co_return ok;
}

asio::awaitable<void> QueueManager::settle(std::string message_id) {
  MessageState* state = find_message(message_id);
  if (state == nullptr) co_return;
  queue::QueuedMessage& message = state->message;
  const bool all_delivered = std::all_of(message.recipients.begin(), message.recipients.end(),
                                         [](const queue::QueuedRecipient& r) { return r.state == queue::RecipientState::delivered; });
  const bool done = !std::any_of(message.recipients.begin(), message.recipients.end(), waiting);
  std::vector<queue::Record> records;
  std::vector<std::uint32_t> to_report;
  if (!all_delivered) {
    // Final states are recorded, so that a restart neither tries them again nor reports them twice.
    for (std::uint32_t i = 0; i < message.recipients.size(); ++i) {
      queue::QueuedRecipient& r = message.recipients[i];
      if (r.state == queue::RecipientState::ready || r.reported) continue;
      if (r.state == queue::RecipientState::failed &&
          dsn::report_wanted(message.mail_from, r.dsn.notify, dsn::Action::failed)) {
        to_report.push_back(i);
      }
      records.push_back(queue::Record{r.state == queue::RecipientState::delivered ? queue::Record::Kind::delivered
                                                                                 : queue::Record::Kind::failed,
                                      i, r.last_error, r.remote_mta});
      r.reported = true;  // delivered ones too: their record is written now
    }
  }
  if (!to_report.empty()) {
    const std::int64_t now = now_seconds();
    std::vector<dsn::RecipientReport> reports;
    for (std::uint32_t i : to_report) {
      reports.push_back(recipient_report(message.recipients[i], dsn::Action::failed, now, 0));
    }
    const bool queued = co_await queue_report(message_id, std::move(reports));
    state = find_message(message_id);
    if (state == nullptr) co_return;
    if (!queued) {
      // Not recorded as reported: the next start tries again.
      co_return;
    }
    for (std::uint32_t i : to_report) records.push_back(queue::Record{queue::Record::Kind::reported, i, {}, {}});
  }
  if (done && state->in_flight == 0) {
    if (state->removing) co_return;
    state->removing = true;
    std::string error;
    const bool removed = co_await asio::co_spawn(
        services_.pool, [&]() -> asio::awaitable<bool> { co_return services_.store.remove(message_id, error); },
        asio::use_awaitable);
    co_await asio::post(strand_, asio::use_awaitable);
    if (!removed) log::error("queue", "cannot remove delivered message " + message_id + ": " + error);
    messages_.erase(message_id);  // no queue holds it: items hold only recipients still waiting
    co_return;
  }
  if (!records.empty()) co_await append_records(message_id, std::move(records));
}

asio::awaitable<void> QueueManager::fail_waiting(std::string message_id, std::string text) {
  MessageState* state = find_message(message_id);
  if (state == nullptr) co_return;
  std::vector<std::uint32_t> failed;
  for (std::uint32_t i = 0; i < state->message.recipients.size(); ++i) {
    queue::QueuedRecipient& recipient = state->message.recipients[i];
    if (!waiting(recipient)) continue;
    recipient.state = queue::RecipientState::failed;
    recipient.last_error = text;
    recipient.remote_mta.clear();
    failed.push_back(i);
  }
  track(tracking::EventId::fail, state->message, failed, text, services_.fqdn);
  log::info("queue", "message " + message_id + " failed for " + std::to_string(failed.size()) +
                         " recipient(s): " + text);
  co_await settle(std::move(message_id));
}

asio::awaitable<void> QueueManager::report_delay(std::string message_id) {
  MessageState* state = find_message(message_id);
  if (state == nullptr || state->message.delay_reported) co_return;
  const queue::RetrySchedule schedule(config_->transport_server);
  const std::int64_t now = now_seconds();
  std::vector<dsn::RecipientReport> reports;
  for (const queue::QueuedRecipient& recipient : state->message.recipients) {
    if (waiting(recipient) && dsn::report_wanted(state->message.mail_from, recipient.dsn.notify, dsn::Action::delayed)) {
      reports.push_back(recipient_report(recipient, dsn::Action::delayed, now, schedule.expiry_time(state->message)));
    }
  }
  state->message.delay_reported = true;
  if (!reports.empty() && !co_await queue_report(message_id, std::move(reports))) co_return;
  std::vector<queue::Record> records(1);
  records[0].kind = queue::Record::Kind::delay_reported;
  co_await append_records(message_id, std::move(records));
}

asio::awaitable<bool> QueueManager::queue_report(const std::string& original_id,
                                                 std::vector<dsn::RecipientReport> recipients) {
  MessageState* state = find_message(original_id);
  if (state == nullptr) co_return false;
  const queue::QueuedMessage original = state->message;
  // RET=FULL returns the message with failures only (RFC 3461 §4.3).
  const bool failure = std::any_of(recipients.begin(), recipients.end(),
                                   [](const dsn::RecipientReport& r) { return r.action == dsn::Action::failed; });
  const bool full = original.dsn.ret == dsn::Return::full && failure;
  const char* kind = failure ? "non-delivery report"
                     : recipients.front().action == dsn::Action::delayed ? "delay report"
                                                                         : "delivery report";
  const std::filesystem::path path = services_.store.content_path(original_id);
  const std::int64_t now = now_seconds();

  dsn::ReportRequest request;
  request.reporting_mta = services_.fqdn;
  request.postmaster = postmaster_address();
  request.envid = original.dsn.envid;
  request.arrival_date = original.arrival_time;
  request.original_sender = original.mail_from;
  request.return_full = full;
  request.recipients = std::move(recipients);
  request.now = now;

  queue::QueuedMessage report;
  report.id = services_.store.new_id();
  report.arrival_time = now;
  report.origin = std::string(kind) + " for " + original_id;
  queue::QueuedRecipient to;
  to.address = original.mail_from;
  report.recipients.push_back(std::move(to));
  request.message_id = report.id + "@" + services_.fqdn;
  request.boundary_seed = report.id;

  std::string error;
  const bool ok = co_await asio::co_spawn(
      services_.pool,
      [&]() -> asio::awaitable<bool> {
        // The original as stored, without our Return-Path: line; headers only unless RET=FULL.
        std::ifstream in(path, std::ios::binary);
        std::string text;
        std::string line;
        bool first = true;
        while (std::getline(in, line)) {
          if (first && line.starts_with("Return-Path:")) {
            first = false;
            continue;
          }
          first = false;
          if (!full && line.empty()) break;
          text += line;
          text += '\n';
          if (!full && text.size() > 256 * 1024) break;
        }
        if (!in.eof() && in.fail() && text.empty()) {
          error = "cannot read " + path.string();
          co_return false;
        }
        request.original_message = text;
        std::string content = "Return-Path: <>\n" + dsn::compose_report(request);
        report.size = content.size();
        report.eight_bit = std::any_of(content.begin(), content.end(), [](char c) { return (c & 0x80) != 0; });
        co_return services_.store.add(report, content, error);
      },
      asio::use_awaitable);
  co_await asio::post(strand_, asio::use_awaitable);
  if (!ok) {
    log::error("queue", "cannot queue the " + report.origin + ": " + error);
    co_return false;
  }
  if (services_.tracking != nullptr) {
    for (const dsn::RecipientReport& r : request.recipients) {
      tracking::TrackingEvent event;
      event.timestamp = std::chrono::system_clock::now();
      event.event_id = tracking::EventId::dsn;
      event.connector_id = services_.fqdn;
      event.sender = original.mail_from;
      event.recipient = r.final_recipient;
      event.message_id = original_id;
      event.total_bytes = report.size;
      event.reply = r.diagnostic;
      services_.tracking->record(std::move(event));
    }
  }
  admit(std::move(report));
  kick_all();
  schedule_wakeup();
  co_return true;
}

void QueueManager::track(tracking::EventId id, const queue::QueuedMessage& message,
                         const std::vector<std::uint32_t>& recipients, const std::string& reply,
                         const std::string& where) {
  if (services_.tracking == nullptr) return;
  for (std::uint32_t index : recipients) {
    tracking::TrackingEvent event;
    event.timestamp = std::chrono::system_clock::now();
    event.event_id = id;
    event.connector_id = where;
    event.sender = message.mail_from;
    event.recipient = message.recipients[index].address;
    event.message_id = message.id;
    event.total_bytes = message.size;
    event.reply = reply;
    services_.tracking->record(std::move(event));
  }
}

void QueueManager::count_outcome(const std::string& key, queue::RecipientState state) {
  const DeliveryQueue* q = queues_.find(key);
  const std::string hop = q != nullptr ? q->hop.domain : std::string();
  const char* outcome = state == queue::RecipientState::delivered ? "delivered"
                        : state == queue::RecipientState::failed  ? "failed"
                                                                  : "deferred";
  observability::Metrics::instance()
      .counter("transportd_queue_recipients_total",
               "Recipients the queue finished with a next hop: delivered, failed (permanent) or deferred (try again)",
               {{"next_hop", hop}, {"outcome", outcome}})
      .fetch_add(1, std::memory_order_relaxed);
}

void QueueManager::publish_depths() {
  // Every queue seen keeps its series; one that is gone shows 0.
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> now;  // identity → (messages, age)
  for (const auto& name : published_) now[name] = {0, 0};
  const std::int64_t time = now_seconds();
  for (const auto& [key, queue] : queues_.all()) {
    std::int64_t oldest = 0;
    for (const Item& item : queue.items) {
      if (const MessageState* state = find_message(item.message_id)) {
        if (oldest == 0 || state->message.arrival_time < oldest) oldest = state->message.arrival_time;
      }
    }
    now[queue.hop.domain] = {static_cast<std::int64_t>(queue.message_count()), oldest == 0 ? 0 : time - oldest};
  }
  auto& metrics = observability::Metrics::instance();
  for (const auto& [name, values] : now) {
    published_.insert(name);
    metrics.gauge("transportd_queue_messages", "Messages waiting in each delivery queue (by next hop)",
                  {{"next_hop", name}}).store(values.first, std::memory_order_relaxed);
    metrics.gauge("transportd_queue_oldest_message_age_seconds",
                  "Age of the oldest message waiting in each delivery queue", {{"next_hop", name}})
        .store(values.second, std::memory_order_relaxed);
  }
  metrics.gauge("transportd_queued_messages", "Messages in the durable queue (each counted once, whatever its next hops)", {})
      .store(static_cast<std::int64_t>(messages_.size()), std::memory_order_relaxed);
  metrics_timer_.expires_after(std::chrono::seconds(2));
  metrics_timer_.async_wait([this](std::error_code ec) {
    if (!ec && !stopped_) publish_depths();
  });
}

std::string QueueManager::postmaster_address() const {
  if (config_) {
    for (const store::AcceptedDomain& domain : config_->accepted_domains) {
      if (domain.is_default && !domain.is_wildcard()) return "postmaster@" + domain.domain_name;
    }
  }
  return "postmaster@" + services_.fqdn;
}

// The queue viewer.

std::string QueueManager::queue_identity(const DeliveryQueue& queue) const {
  const std::string host = config_ ? config_->host_name : std::string();
  return host + "\\" + queue.hop.domain;
}

DeliveryQueue* QueueManager::find_queue(const std::string& identity) {
  const std::size_t slash = identity.rfind('\\');
  const std::string name = store::to_lower(slash == std::string::npos ? identity : identity.substr(slash + 1));
  for (const auto& [key, queue] : queues_.all()) {
    if (store::to_lower(queue.hop.domain) == name) return queues_.find(key);
  }
  return nullptr;
}

QueueManager::MessageState* QueueManager::find_message(const std::string& id) {
  const std::size_t slash = id.rfind('\\');
  auto it = messages_.find(slash == std::string::npos ? id : id.substr(slash + 1));
  return it == messages_.end() ? nullptr : &it->second;
}

std::vector<QueueView> QueueManager::queues() {
  return on_strand<std::vector<QueueView>>([this] {
    std::vector<QueueView> views;
    for (const auto& [key, queue] : queues_.all()) {
      QueueView view;
      view.identity = queue_identity(queue);
      view.delivery_type = std::string(delivery_type_name(queue.hop.type));
      view.next_hop_domain = queue.hop.domain;
      view.status = std::string(queue_status_name(queue.status));
      view.message_count = queue.message_count();
      view.last_error = queue.last_error;
      view.next_retry_time = queue.status == QueueStatus::retry ? queue.retry_at : 0;
      if (view.next_retry_time == 0) {
        for (const Item& item : queue.items) {
          if (item.not_before > 0 && (view.next_retry_time == 0 || item.not_before < view.next_retry_time)) {
            view.next_retry_time = item.not_before;
          }
        }
      }
      views.push_back(std::move(view));
    }
    return views;
  });
}

std::vector<MessageView> QueueManager::messages(const std::string& queue_identity_filter) {
  return on_strand<std::vector<MessageView>>([this, queue_identity_filter] {
    std::vector<MessageView> views;
    const queue::RetrySchedule schedule(config_->transport_server);
    const auto view_of = [&](const MessageState& state, const std::string& queue_name, std::string status,
                             const std::vector<std::uint32_t>& indices, const std::string& queue_error) {
      MessageView view;
      view.id = state.message.id;
      view.queue = queue_name;
      view.identity = queue_name + "\\" + state.message.id;
      view.from = state.message.mail_from;
      for (std::uint32_t i : indices) view.recipients.push_back(state.message.recipients[i].address);
      view.status = std::move(status);
      view.size = state.message.size;
      view.date_received = state.message.arrival_time;
      view.expiration_time = schedule.expiry_time(state.message);
      view.last_error = queue_error;
      for (std::uint32_t i : indices) {
        if (!state.message.recipients[i].last_error.empty()) view.last_error = state.message.recipients[i].last_error;
      }
      view.origin = state.message.origin;
      return view;
    };
    std::set<std::string> shown;
    for (const auto& [key, queue] : queues_.all()) {
      const std::string name = queue_identity(queue);
      if (!queue_identity_filter.empty() && find_queue(queue_identity_filter) != &queue) continue;
      for (const Item& item : queue.items) {
        const MessageState* state = find_message(item.message_id);
        if (state == nullptr) continue;
        const std::string status = queue.status == QueueStatus::suspended ? "Suspended"
                                   : item.not_before > 0 || queue.status == QueueStatus::retry ? "Retry"
                                                                                                : "Ready";
        views.push_back(view_of(*state, name, status, item.recipients, queue.last_error));
        shown.insert(item.message_id);
      }
    }
    if (queue_identity_filter.empty()) {
      // Messages no queue holds now: suspended, or in the hands of a connection.
      for (const auto& [id, state] : messages_) {
        if (shown.contains(id)) continue;
        std::vector<std::uint32_t> indices;
        for (std::uint32_t i = 0; i < state.message.recipients.size(); ++i) {
          if (waiting(state.message.recipients[i])) indices.push_back(i);
        }
        if (indices.empty()) continue;
        views.push_back(view_of(state, (config_ ? config_->host_name : std::string()) + "\\Submission",
                                state.message.suspended ? "Suspended" : "Active", indices, {}));
      }
    }
    return views;
  });
}

std::string QueueManager::retry_queue(const std::string& identity) {
  return on_strand<std::string>([this, identity] {
    DeliveryQueue* queue = find_queue(identity);
    if (queue == nullptr) return "no queue " + identity;
    if (queue->hop.type == DeliveryType::unreachable) {
      // Unreachable mail waits for a route: look for one again.
      const std::vector<Item> items = queues_.take_all_routed();
      unplace(items);
      for (const Item& item : items) {
        if (MessageState* state = find_message(item.message_id)) route(*state);
      }
      queues_.drop_idle();
    } else {
      queues_.retry_now(queue->hop.key());
    }
    kick_all();
    schedule_wakeup();
    return std::string();
  });
}

std::string QueueManager::suspend_queue(const std::string& identity) {
  return on_strand<std::string>([this, identity] {
    DeliveryQueue* queue = find_queue(identity);
    if (queue == nullptr) return "no queue " + identity;
    queues_.suspend(queue->hop.key());
    return std::string();
  });
}

std::string QueueManager::resume_queue(const std::string& identity) {
  return on_strand<std::string>([this, identity] {
    DeliveryQueue* queue = find_queue(identity);
    if (queue == nullptr) return "no queue " + identity;
    queues_.resume(queue->hop.key());
    kick_all();
    schedule_wakeup();
    return std::string();
  });
}

std::string QueueManager::suspend_message(const std::string& id) {
  return on_strand<std::string>([this, id] {
    MessageState* state = find_message(id);
    if (state == nullptr) return "no message " + id;
    state->message.suspended = true;
    // Recipients a connection has stay placed until it finishes with them.
    unplace(queues_.remove_message(state->message.id));
    queues_.drop_idle();
    asio::co_spawn(strand_, [this, message_id = state->message.id]() -> asio::awaitable<void> {
      std::vector<queue::Record> records(1);
      records[0].kind = queue::Record::Kind::suspended;
      co_await append_records(message_id, std::move(records));
    }, asio::detached);
    return std::string();
  });
}

std::string QueueManager::resume_message(const std::string& id) {
  return on_strand<std::string>([this, id] {
    MessageState* state = find_message(id);
    if (state == nullptr) return "no message " + id;
    if (!state->message.suspended) return std::string();
    state->message.suspended = false;
    route(*state);
    kick_all();
    asio::co_spawn(strand_, [this, message_id = state->message.id]() -> asio::awaitable<void> {
      std::vector<queue::Record> records(1);
      records[0].kind = queue::Record::Kind::resumed;
      co_await append_records(message_id, std::move(records));
    }, asio::detached);
    return std::string();
  });
}

std::string QueueManager::remove_message(const std::string& id, bool with_ndr) {
  return on_strand<std::string>([this, id, with_ndr] {
    MessageState* state = find_message(id);
    if (state == nullptr) return "no message " + id;
    if (state->in_flight > 0) return "message " + id + " is being delivered now; try again in a moment";
    unplace(queues_.remove_message(state->message.id));
    queues_.drop_idle();
    if (!with_ndr) {
      // Without a report: the waiting recipients end as failed and already reported.
      for (queue::QueuedRecipient& recipient : state->message.recipients) {
        if (!waiting(recipient)) continue;
        recipient.state = queue::RecipientState::failed;
        recipient.reported = true;
      }
    }
    asio::co_spawn(strand_, fail_waiting(state->message.id, "550 5.3.2 Removed from the queue by the administrator"),
                   asio::detached);
    return std::string();
  });
}


}  // namespace transport::relay
