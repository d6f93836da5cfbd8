// QueueManager: takes every queued message to its next hops (DESIGN §11). Messages the sessions made
// durable in the QueueStore are routed per recipient with the current configuration, grouped into one
// delivery queue per next hop (DeliveryQueues), and delivered by outbound SMTP connections (smart hosts
// or MX hosts) or into local Maildirs; what fails permanently or expires comes back to its sender as a
// non-delivery report, itself queued and routed like any message. All state lives on one strand; file
// work (records, removal, reading a message for a report) runs on the delivery pool.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/thread_pool.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/configuration.h"
#include "transportd/queue/queued_message.h"
#include "transportd/relay/delivery_queues.h"
#include "transportd/relay/queue_viewer.h"

namespace asio::ssl {
class context;
}
namespace transport::queue {
class QueueStore;
}
namespace transport::delivery {
class MaildirStore;
}
namespace transport::dns {
class Resolver;
}
namespace transport::tracking {
class TrackingLog;
}
#include "transportd/tracking/tracking_event.h"
namespace transport::routing {
class RecipientRouter;
}
namespace transport::outbound {
struct MessageResult;
}
namespace transport::dsn {
struct RecipientReport;
}

namespace transport::relay {

struct QueueManagerServices {
  asio::io_context& io;
  asio::thread_pool& pool;          // blocking file work
  queue::QueueStore& store;
  delivery::MaildirStore& mailboxes;
  dns::Resolver& resolver;
  tracking::TrackingLog* tracking = nullptr;
  std::string fqdn;                 // EHLO name when a connector has no Fqdn, Reporting-MTA of reports
};

class QueueManager final : public QueueViewer {
 public:
  explicit QueueManager(QueueManagerServices services);
  ~QueueManager();

  // Loads the queue on the delivery pool and routes every message with `config`; problems go to the
  // log. Call before sessions start: their adds wait until the load is done (QueueStore), so the
  // daemon serves at once however large the queue.
  void start(store::ConfigurationPtr config);
  // The configuration changed: routes whatever waits again (a new send connector takes mail at once).
  void reconfigure(store::ConfigurationPtr config);
  // A message a session made durable in the store (after its 250): delivery starts. Thread-safe.
  void submit(queue::QueuedMessage message);
  // Stops starting connections and cancels the timer; connections in flight end with the io_context.
  void stop();

  // The queue viewer (QueueViewer). They wait for the strand: never call them from an I/O thread.
  std::vector<QueueView> queues() override;
  std::vector<MessageView> messages(const std::string& queue_identity) override;
  std::string retry_queue(const std::string& identity) override;
  std::string suspend_queue(const std::string& identity) override;
  std::string resume_queue(const std::string& identity) override;
  std::string suspend_message(const std::string& id) override;
  std::string resume_message(const std::string& id) override;
  std::string remove_message(const std::string& id, bool with_ndr) override;

 private:
  struct MessageState {
    queue::QueuedMessage message;
    std::size_t in_flight = 0;     // items of it taken by connections
    std::vector<bool> placed;      // by recipient: some queue holds it, or a connection has it
    bool removing = false;         // done: its files are being removed
  };

  // On the strand.
  void route(MessageState& state);
  // A message enters the manager: kept, routed, and its expiry and delay report put on the timeline.
  MessageState& admit(queue::QueuedMessage message);
  void add_deadlines(const MessageState& state);
  // Items taken out of their queues to be routed again: their recipients are no longer placed.
  void unplace(const std::vector<Item>& items);
  void kick(const std::string& key);
  void kick_all();
  void schedule_wakeup();
  void on_wakeup();
  asio::awaitable<void> run_connection(std::string key);
  asio::awaitable<void> run_mailbox_delivery(std::string key);
  // Records what a next hop said for each recipient of `item`; `hop_takes_dsn`: it advertised DSN (so
  // it reports successes itself).
  asio::awaitable<void> finish_item(const std::string& key, Item item, const outbound::MessageResult& result,
                                    const std::string& remote_mta, bool hop_takes_dsn);
  // Records recipients' final states, queues the reports due, and removes a message that is done.
  asio::awaitable<void> settle(std::string message_id);
  asio::awaitable<void> fail_waiting(std::string message_id, std::string text);
  asio::awaitable<void> report_delay(std::string message_id);
  asio::awaitable<bool> append_records(const std::string& id, std::vector<queue::Record> records);
  // Composes a report (failure, delay or success) for some recipients of a message and queues it for
  // its sender.
  asio::awaitable<bool> queue_report(const std::string& original_id, std::vector<dsn::RecipientReport> recipients);
  std::string postmaster_address() const;
  // Message tracking: one event per recipient, `where` the next hop (or this server).
  void track(tracking::EventId id, const queue::QueuedMessage& message, const std::vector<std::uint32_t>& recipients,
             const std::string& reply, const std::string& where);
  // transportd_queue_recipients_total{next_hop,outcome}.
  void count_outcome(const std::string& key, queue::RecipientState state);
  // transportd_queue_messages{next_hop} and transportd_queue_oldest_message_age_seconds{next_hop},
  // every 2 s.
  void publish_depths();
  void fail_hop(const std::string& key, const std::string& text);
  std::string queue_identity(const DeliveryQueue& queue) const;
  DeliveryQueue* find_queue(const std::string& identity);
  MessageState* find_message(const std::string& id);
  template <class Result>
  Result on_strand(std::function<Result()> work);

  QueueManagerServices services_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer timer_;
  asio::steady_timer metrics_timer_;
  std::set<std::string> published_;  // queues that have metric series
  std::unique_ptr<asio::ssl::context> client_tls_;
  store::ConfigurationPtr config_;
  std::unique_ptr<routing::RecipientRouter> router_;
  std::unordered_map<std::string, MessageState> messages_;
  std::multimap<std::int64_t, std::string> timeline_;  // expiry and delay-report times, by message id
  DeliveryQueues queues_;
  std::size_t connections_ = 0;
  bool stopped_ = false;
};

}  // namespace transport::relay
