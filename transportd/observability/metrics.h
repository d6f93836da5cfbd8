// Metrics: the daemon's counters and gauges, and their Prometheus text rendering (format 0.0.4) for
// /metrics. Registering a label set takes a lock once; the handle it returns is a plain atomic that
// the hot path updates without one, so callers look handles up once (per connector) and keep them.
//
// The families transportd feeds — these names are the contract with dashboards and docs/:
//   transportd_sessions_open{connector}              gauge    SMTP sessions open now
//   transportd_sessions_total{connector}             counter  SMTP sessions accepted
//   transportd_replies_total{connector,class}        counter  SMTP replies sent; class 2xx|3xx|4xx|5xx
//   transportd_tarpit_waits_total{connector}         counter  replies held for TarpitInterval
//   transportd_tarpit_seconds_total{connector}       counter  seconds replies were held (µs precision)
//   transportd_tarpit_sessions_waiting{connector}    gauge    sessions inside a tarpit wait now
//   transportd_uniform_holds_total{connector}        counter  2xx replies held for uniform timing (§10)
//   transportd_abandoned_holds_total{connector}      counter  clients that hung up during a hold
//   transportd_source_state_changes_total{to}        counter  reputation records entering Clean|Suspect|
//                                                             Discredited
//   transportd_sources{state}                        gauge    reputation records in each state now
//   transportd_rejected_recipients_total{connector,reason}
//                                                    counter  RCPT refused; reason unknown_user|relay|
//                                                             blocked|syntax|limit
//   transportd_messages_delivered_total{connector}   counter  messages delivered to the mailboxes
//   transportd_bytes_delivered_total{connector}      counter  message bytes delivered (once per message)
//   transportd_queued_messages                       gauge    messages in the durable queue (§11)
//   transportd_queue_messages{next_hop}              gauge    messages waiting in each delivery queue
//   transportd_queue_oldest_message_age_seconds{next_hop}
//                                                    gauge    age of the oldest of them
//   transportd_queue_recipients_total{next_hop,outcome}
//                                                    counter  recipients delivered|failed|deferred by a hop
//   transportd_admin_calls_total{method}             counter  admin API calls, by gRPC method name
//   transportd_config_version                        gauge    configuration version served (fleet; 0: SQLite)
//   transportd_config_store_reachable                gauge    1 while a fleet's store answers (fleet only)
//   transportd_reputation_store_reachable            gauge    1 while a fleet's Redis answers (--reputation-store only)
//   transportd_build_info{version}                   gauge    always 1
// ConnectorMetrics (connector_metrics.h) holds the per-connector handles; use it rather than spelling
// these names again.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace transport::observability {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  Metrics() = default;  // an empty registry, for tests; the daemon uses instance()
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The process-wide registry. It starts with transportd_build_info{version="…"} 1.
  static Metrics& instance();

  // The series of family `name` with these labels (in any order), created at 0 on first use; the
  // reference stays valid for the registry's lifetime. Thread-safe. `help` is taken from the first
  // registration. A malformed metric or label name, a repeated label name, or one name used for two
  // kinds of metric is a programming error: std::logic_error.
  std::atomic<std::uint64_t>& counter(std::string_view name, std::string_view help, Labels labels);
  std::atomic<std::int64_t>& gauge(std::string_view name, std::string_view help, Labels labels);
  // A counter of time kept in microseconds and shown in seconds (Prometheus' base unit) with six
  // decimals, so that short waits add up exactly. Name it *_seconds_total.
  std::atomic<std::uint64_t>& microseconds_counter(std::string_view name, std::string_view help, Labels labels);

  // Families sorted by name, each with one # HELP and one # TYPE line, then its series sorted by
  // their label sets (label names sorted, values escaped).
  std::string render() const;

 private:
  enum class Kind { counter, gauge, microseconds_counter };
  // One cache line each: counters of different connectors are bumped from different threads.
  struct alignas(64) Series {
    std::atomic<std::uint64_t> count{0};  // counters
    std::atomic<std::int64_t> level{0};   // gauges
  };
  struct Family {
    Kind kind;
    std::string help;
    std::map<std::string, std::unique_ptr<Series>> series;  // by rendered label set: {a="1",b="2"}
  };

  Series& series(Kind kind, std::string_view name, std::string_view help, Labels labels);

  mutable std::shared_mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace transport::observability
