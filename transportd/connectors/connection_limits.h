// ConnectionLimits: per-connector MaxInboundConnection, MaxInboundConnectionPerSource and
// MaxInboundConnectionPercentagePerSource, counted across config changes by connector id.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "store/receive_connector.h"

namespace transport::connectors {

class ConnectionLimits {
 public:
  // Holds one admitted connection; releases it when destroyed.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(ConnectionLimits* owner, std::int64_t connector_id, store::IpValue source)
        : owner_(owner), connector_id_(connector_id), source_(source) {}
    Ticket(Ticket&& other) noexcept { *this = std::move(other); }
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { release(); }

   private:
    void release();
    ConnectionLimits* owner_ = nullptr;
    std::int64_t connector_id_ = 0;
    store::IpValue source_ = 0;
  };

  // The per-source limit in force: MaxInboundConnectionPerSource, further capped by
  // MaxInboundConnectionPercentagePerSource of MaxInboundConnection (at least 1).
  static std::optional<std::int64_t> per_source_limit(const store::ReceiveConnector& connector);

  // Admits a connection, or returns nullopt and sets `refusal` to the reason (for the log).
  std::optional<Ticket> admit(const store::ReceiveConnector& connector, const store::IpAddress& source,
                              std::string& refusal);


 private:
  struct IpHash {
    std::size_t operator()(store::IpValue v) const noexcept {
      return std::hash<std::uint64_t>{}(static_cast<std::uint64_t>(v) ^ static_cast<std::uint64_t>(v >> 64) * 31);
    }
  };
  struct Counts {
    std::int64_t total = 0;
    std::unordered_map<store::IpValue, std::int64_t, IpHash> per_source;
  };
  void release(std::int64_t connector_id, store::IpValue source);

  mutable std::mutex mutex_;
  std::unordered_map<std::int64_t, Counts> counts_;
};

}  // namespace transport::connectors
