// ConnectorMetrics: the per-connector handles of the transportd_* families, registered once per
// connector name; admin call counting.
#include "transportd/observability/connector_metrics.h"

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

namespace transport::observability {

namespace {

constexpr std::string_view kRejectReasons[kRejectReasonCount] = {"unknown_user", "relay", "blocked", "syntax",
                                                                 "limit"};

Labels connector_label(std::string_view connector, Labels more = {}) {
  more.emplace_back("connector", std::string(connector));
  return more;
}

}  // namespace

ConnectorMetrics::ConnectorMetrics(Metrics& metrics, std::string_view connector)
    : sessions_open(metrics.gauge("transportd_sessions_open", "SMTP sessions open now", connector_label(connector))),
      sessions_total(
          metrics.counter("transportd_sessions_total", "SMTP sessions accepted", connector_label(connector))),
      replies{},
      tarpit_waits(metrics.counter("transportd_tarpit_waits_total", "SMTP replies held for the TarpitInterval",
                                   connector_label(connector))),
      tarpit_microseconds(metrics.microseconds_counter("transportd_tarpit_seconds_total",
                                                       "Seconds SMTP replies were held by the tarpit",
                                                       connector_label(connector))),
      tarpit_sessions_waiting(metrics.gauge("transportd_tarpit_sessions_waiting",
                                            "SMTP sessions inside a tarpit wait now", connector_label(connector))),
      uniform_holds(metrics.counter("transportd_uniform_holds_total",
                                    "2xx replies held as long as a refusal, so that timing tells nothing",
                                    connector_label(connector))),
      abandoned_holds(metrics.counter("transportd_abandoned_holds_total",
                                      "Clients that hung up while a reply was being held", connector_label(connector))),
      rejected{},
      messages_delivered(metrics.counter("transportd_messages_delivered_total", "Messages delivered to mailboxes",
                                         connector_label(connector))),
      bytes_delivered(metrics.counter("transportd_bytes_delivered_total", "Message bytes delivered to mailboxes",
                                      connector_label(connector))) {
  static constexpr std::string_view kClasses[] = {"2xx", "3xx", "4xx", "5xx"};
  for (std::size_t i = 0; i < replies.size(); ++i) {
    replies[i] = &metrics.counter("transportd_replies_total", "SMTP replies sent, by code class",
                                  connector_label(connector, {{"class", std::string(kClasses[i])}}));
  }
  for (std::size_t i = 0; i < rejected.size(); ++i) {
    rejected[i] = &metrics.counter("transportd_rejected_recipients_total", "Recipients refused at RCPT, by reason",
                                   connector_label(connector, {{"reason", std::string(kRejectReasons[i])}}));
  }
}

ConnectorMetrics& ConnectorMetrics::of(std::string_view connector) {
  static std::shared_mutex mutex;
  static auto* const cache = new std::map<std::string, std::unique_ptr<ConnectorMetrics>, std::less<>>;
  {
    std::shared_lock lock(mutex);
    if (auto found = cache->find(connector); found != cache->end()) return *found->second;
  }
  std::unique_lock lock(mutex);
  auto& slot = (*cache)[std::string(connector)];
  if (!slot) slot = std::make_unique<ConnectorMetrics>(Metrics::instance(), connector);
  return *slot;
}

void count_admin_call(std::string_view method) {
  Metrics::instance()
      .counter("transportd_admin_calls_total", "Admin API calls, by method", {{"method", std::string(method)}})
      .fetch_add(1, std::memory_order_relaxed);
}

void count_source_state_change(std::string_view to) {
  Metrics::instance()
      .counter("transportd_source_state_changes_total", "Source reputation records entering a state",
               {{"to", std::string(to)}})
      .fetch_add(1, std::memory_order_relaxed);
}

void set_sources_by_state(std::uint64_t clean, std::uint64_t suspect, std::uint64_t discredited) {
  static constexpr const char* kHelp = "Source reputation records in each state";
  static auto& clean_gauge = Metrics::instance().gauge("transportd_sources", kHelp, {{"state", "Clean"}});
  static auto& suspect_gauge = Metrics::instance().gauge("transportd_sources", kHelp, {{"state", "Suspect"}});
  static auto& discredited_gauge = Metrics::instance().gauge("transportd_sources", kHelp, {{"state", "Discredited"}});
  clean_gauge.store(static_cast<std::int64_t>(clean), std::memory_order_relaxed);
  suspect_gauge.store(static_cast<std::int64_t>(suspect), std::memory_order_relaxed);
  discredited_gauge.store(static_cast<std::int64_t>(discredited), std::memory_order_relaxed);
}

}  // namespace transport::observability
