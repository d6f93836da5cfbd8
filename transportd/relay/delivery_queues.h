// DeliveryQueues: the queue viewer's model (DESIGN §11) — one delivery queue per next hop, holding the
// queued messages' recipients that go there, with each queue's status, last error and next retry. Pure:
// no I/O and no clock (times are unix seconds passed in), so the scheduling rules are unit-tested; the
// QueueManager does the I/O around it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "transportd/queue/queued_message.h"

namespace transport::relay {

// How a next hop is reached (Exchange's DeliveryType names where they exist).
enum class DeliveryType : std::uint8_t {
  smart_host,   // SmartHostConnectorDelivery: a send connector's SmartHosts
  dns,          // DnsConnectorDelivery: the recipient domain's MX hosts
  mailbox,      // MailboxDelivery: a local Maildir (reports to local senders, mailboxes made after acceptance)
  unreachable,  // Unreachable: no send connector routes the domain any more; waits for one, or expiry
};
std::string_view delivery_type_name(DeliveryType type);

enum class QueueStatus : std::uint8_t { ready, active, retry, suspended };
std::string_view queue_status_name(QueueStatus status);

struct NextHop {
  DeliveryType type = DeliveryType::unreachable;
  std::string domain;             // NextHopDomain: the recipient domain (dns), the connector's name (smart host)
  std::int64_t connector_id = 0;  // the send connector (smart_host, dns)

  // The queue's identity within this server: "<DeliveryType>:<connector id>:<domain>".
  std::string key() const;
};

// Some recipients of one message, all to one next hop: what one transaction delivers.
struct Item {
  std::string message_id;
  std::vector<std::uint32_t> recipients;  // indices into QueuedMessage::recipients
  std::int64_t not_before = 0;            // deferred by a 4xx until then
};

struct DeliveryQueue {
  NextHop hop;
  QueueStatus status = QueueStatus::ready;
  std::deque<Item> items;   // waiting, in arrival order
  std::size_t in_flight = 0;  // items taken by connections and not yet finished
  std::size_t connections = 0;
  std::int64_t retry_at = 0;  // status retry: no connection before then
  std::int64_t failed_at = 0;  // status retry: when the connection failed
  std::int64_t earliest_wait = 0;  // no item waits (not_before) for less than this; 0: none waits
  std::string last_error;

  std::size_t message_count() const { return items.size() + in_flight; }
};

class DeliveryQueues {
 public:
  // Adds an item to the queue of `hop` (made when missing).
  DeliveryQueue& add(const NextHop& hop, Item item);

  // The first item of `key` that may go now (not_before passed), removed from the queue and counted in
  // flight; nullopt when none may (the queue is suspended or in retry, or everything waits).
  std::optional<Item> take(const std::string& key, std::int64_t now);
  // An item taken is done (delivered, failed, or deferred and put back with put_back()).
  void finished(const std::string& key);
  // An item taken goes back, waiting until `not_before` (a 4xx) — at the front when 0 (the connection
  // broke before it was tried).
  void put_back(const std::string& key, Item item);

  // The next hop could not be reached at `now`: no connection for `interval` seconds
  // (OutboundConnectionFailureRetryInterval).
  void connection_failed(const std::string& key, std::string error, std::int64_t now, std::int64_t interval);
  // OutboundConnectionFailureRetryInterval changed: a queue in Retry waits at most `interval` from its
  // failure (a shorter interval applies to mail already waiting).
  void retry_interval_changed(std::int64_t interval);
  // A connection succeeded: the queue is active again (status follows its connections), LastError empty.
  void connected(const std::string& key);
  // retry-queue: a queue in retry may connect now, and its deferred items may go now.
  bool retry_now(const std::string& key);
  bool suspend(const std::string& key);
  bool resume(const std::string& key);

  // Queues whose retry time or some item's not_before has come: they may start connections.
  std::vector<std::string> due(std::int64_t now);
  // The earliest time anything becomes due (a queue's retry, an item's not_before); 0 if none. Costs one
  // look per queue, not per item.
  std::int64_t next_due() const;

  // Removes every waiting item of `message_id` (remove-message, suspend-message, expiry) from every
  // queue, and returns them.
  std::vector<Item> remove_message(const std::string& message_id);
  // Takes every waiting item out of every queue except mailbox delivery (the configuration changed:
  // the caller routes them again). The queues stay, with their status, so that items routed back to
  // the same next hop keep waiting for its retry time; drop_idle() removes those left empty.
  std::vector<Item> take_all_routed();
  // Drops queues that are empty and have no connection.
  void drop_idle();

  DeliveryQueue* find(const std::string& key);
  const std::map<std::string, DeliveryQueue>& all() const { return queues_; }

 private:
  std::map<std::string, DeliveryQueue> queues_;  // by NextHop::key(), sorted for get-queue
};

}  // namespace transport::relay
