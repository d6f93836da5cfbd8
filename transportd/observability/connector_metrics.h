// ConnectorMetrics: the handles one receive connector's sessions update (the transportd_* families of
// metrics.h), looked up once per connector name, plus scoped guards for the two gauges that must come
// back down however a session or a tarpit wait ends.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "transportd/observability/metrics.h"

namespace transport::observability {

// Why a RCPT was refused: the `reason` label of transportd_rejected_recipients_total.
enum class RejectReason : std::uint8_t { unknown_user, relay, blocked, syntax, limit };
inline constexpr std::size_t kRejectReasonCount = 5;

struct ConnectorMetrics {
  ConnectorMetrics(Metrics& metrics, std::string_view connector);

  // The handles of `connector` in Metrics::instance(), created on first use and kept for the
  // process's lifetime. Thread-safe; one shared-lock lookup, so call it once per session.
  static ConnectorMetrics& of(std::string_view connector);

  // Counts a reply sent by its class; codes outside 200-599 (none are sent) are not counted.
  void count_reply(int code) {
    if (code >= 200 && code < 600) replies[static_cast<std::size_t>(code / 100 - 2)]->fetch_add(1, std::memory_order_relaxed);
  }
  void count_rejected(RejectReason reason) {
    rejected[static_cast<std::size_t>(reason)]->fetch_add(1, std::memory_order_relaxed);
  }
  void count_delivered(std::uint64_t bytes) {
    messages_delivered.fetch_add(1, std::memory_order_relaxed);
    bytes_delivered.fetch_add(bytes, std::memory_order_relaxed);
  }

  std::atomic<std::int64_t>& sessions_open;
  std::atomic<std::uint64_t>& sessions_total;
  std::array<std::atomic<std::uint64_t>*, 4> replies;  // 2xx, 3xx, 4xx, 5xx
  std::atomic<std::uint64_t>& tarpit_waits;
  std::atomic<std::uint64_t>& tarpit_microseconds;  // rendered as transportd_tarpit_seconds_total
  std::atomic<std::int64_t>& tarpit_sessions_waiting;
  std::atomic<std::uint64_t>& uniform_holds;    // 2xx replies held so that timing tells nothing (DESIGN §10)
  std::atomic<std::uint64_t>& abandoned_holds;  // clients that hung up while a reply was held
  std::array<std::atomic<std::uint64_t>*, kRejectReasonCount> rejected;  // by RejectReason
  std::atomic<std::uint64_t>& messages_delivered;
  std::atomic<std::uint64_t>& bytes_delivered;
};

// Lives as long as the session: counts it in sessions_total and holds it in sessions_open.
class OpenSessionScope {
 public:
  explicit OpenSessionScope(ConnectorMetrics& metrics) : metrics_(metrics) {
    metrics_.sessions_total.fetch_add(1, std::memory_order_relaxed);
    metrics_.sessions_open.fetch_add(1, std::memory_order_relaxed);
  }
  ~OpenSessionScope() { metrics_.sessions_open.fetch_sub(1, std::memory_order_relaxed); }
  OpenSessionScope(const OpenSessionScope&) = delete;
  OpenSessionScope& operator=(const OpenSessionScope&) = delete;

 private:
  ConnectorMetrics& metrics_;
};

// Lives as long as one tarpit wait: counts the wait when it begins, holds it in
// tarpit_sessions_waiting, and adds the time really held (also when the client hangs up) at the end.
class TarpitWaitScope {
 public:
  explicit TarpitWaitScope(ConnectorMetrics& metrics)
      : metrics_(metrics), started_(std::chrono::steady_clock::now()) {
    metrics_.tarpit_waits.fetch_add(1, std::memory_order_relaxed);
    metrics_.tarpit_sessions_waiting.fetch_add(1, std::memory_order_relaxed);
  }
  ~TarpitWaitScope() {
    const auto held = std::chrono::steady_clock::now() - started_;
    metrics_.tarpit_microseconds.fetch_add(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(held).count()),
        std::memory_order_relaxed);
    metrics_.tarpit_sessions_waiting.fetch_sub(1, std::memory_order_relaxed);
  }
  TarpitWaitScope(const TarpitWaitScope&) = delete;
  TarpitWaitScope& operator=(const TarpitWaitScope&) = delete;

 private:
  ConnectorMetrics& metrics_;
  std::chrono::steady_clock::time_point started_;
};

// transportd_admin_calls_total{method}: one lookup per call (admin calls are rare). Thread-safe.
void count_admin_call(std::string_view method);

// The harvest defence (DESIGN §10), server-wide: transportd_source_state_changes_total{to} counts records
// entering a state; transportd_sources{state} is how many records stand in each state now.
void count_source_state_change(std::string_view to);
void set_sources_by_state(std::uint64_t clean, std::uint64_t suspect, std::uint64_t discredited);

}  // namespace transport::observability
