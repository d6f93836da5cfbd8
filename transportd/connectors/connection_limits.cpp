// ConnectionLimits: counters behind one mutex; admit and release are a few hash operations.
#include "transportd/connectors/connection_limits.h"

#include <algorithm>
#include <utility>

namespace transport::connectors {

ConnectionLimits::Ticket& ConnectionLimits::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    connector_id_ = other.connector_id_;
    source_ = other.source_;
  }
  return *this;
}

void ConnectionLimits::Ticket::release() {
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->release(connector_id_, source_);
}

std::optional<std::int64_t> ConnectionLimits::per_source_limit(const store::ReceiveConnector& connector) {
  std::optional<std::int64_t> limit = connector.max_inbound_connection_per_source;
  if (connector.max_inbound_connection) {
    std::int64_t share = std::max<std::int64_t>(
        1, *connector.max_inbound_connection * connector.max_inbound_connection_percentage_per_source / 100);
    limit = limit ? std::min(*limit, share) : share;
  }
  return limit;
}

std::optional<ConnectionLimits::Ticket> ConnectionLimits::admit(const store::ReceiveConnector& connector,
                                                                 const store::IpAddress& source,
                                                                 std::string& refusal) {
  const std::optional<std::int64_t> source_limit = per_source_limit(connector);
  std::lock_guard lock(mutex_);
  Counts& counts = counts_[connector.id];
  if (connector.max_inbound_connection && counts.total >= *connector.max_inbound_connection) {
    refusal = "MaxInboundConnection " + std::to_string(*connector.max_inbound_connection) + " reached";
    return std::nullopt;
  }
  std::int64_t& from_source = counts.per_source[source.value()];
  if (source_limit && from_source >= *source_limit) {
    refusal = "per-source limit " + std::to_string(*source_limit) + " reached for " + source.to_string();
    if (from_source == 0) counts.per_source.erase(source.value());
    return std::nullopt;
  }
  ++from_source;
  ++counts.total;
  return Ticket(this, connector.id, source.value());
}

void ConnectionLimits::release(std::int64_t connector_id, store::IpValue source) {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(connector_id);
  if (it == counts_.end()) return;
  --it->second.total;
  auto s = it->second.per_source.find(source);
  if (s != it->second.per_source.end() && --s->second <= 0) it->second.per_source.erase(s);
  if (it->second.total <= 0) counts_.erase(it);
}

}  // namespace transport::connectors
