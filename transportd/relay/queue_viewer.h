// QueueViewer: what the queue cmdlets (DESIGN §11, Exchange's queue viewer) see and may do — the
// admin service's only view of the queue manager, so that the admin API depends on this header alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace transport::relay {

// get-queue's row.
struct QueueView {
  std::string identity;  // HOST\<NextHopDomain>, or HOST\Unreachable
  std::string delivery_type;
  std::string next_hop_domain;
  std::string status;
  std::size_t message_count = 0;
  std::string last_error;
  std::int64_t next_retry_time = 0;  // unix seconds, 0 when none
};

// get-message's row: one message in one queue (a message split over next hops shows in each).
struct MessageView {
  std::string identity;  // HOST\<queue>\<id>
  std::string id;
  std::string queue;     // the queue's identity
  std::string from;
  std::vector<std::string> recipients;
  std::string status;    // Ready, Active, Retry, Suspended
  std::uint64_t size = 0;
  std::int64_t date_received = 0;
  std::int64_t expiration_time = 0;
  std::string last_error;
  std::string origin;
};

class QueueViewer {
 public:
  virtual ~QueueViewer() = default;
  // Thread-safe. Queue identities are HOST\\<NextHopDomain> (or HOST\\Unreachable), and the bare
  // NextHopDomain; message identities HOST\\<queue>\\<id> or the bare id. The string results are "" on
  // success, else a sentence saying why not (no such queue or message, a message being delivered now).
  virtual std::vector<QueueView> queues() = 0;
  // Every message, or those of one queue ("" for all).
  virtual std::vector<MessageView> messages(const std::string& queue_identity) = 0;
  // A queue in Retry connects now, and its deferred messages may go now.
  virtual std::string retry_queue(const std::string& identity) = 0;
  virtual std::string suspend_queue(const std::string& identity) = 0;
  virtual std::string resume_queue(const std::string& identity) = 0;
  virtual std::string suspend_message(const std::string& id) = 0;
  virtual std::string resume_message(const std::string& id) = 0;
  // With `with_ndr`, the sender gets a non-delivery report for the recipients not yet delivered.
  virtual std::string remove_message(const std::string& id, bool with_ndr) = 0;
};

}  // namespace transport::relay
