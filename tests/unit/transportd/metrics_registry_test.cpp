// Metrics: the Prometheus text rendering (HELP/TYPE once per family, sorted, escaped), series
// identity, exact counts under concurrency, and the per-connector handles.
#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "transportd/observability/connector_metrics.h"
#include "transportd/observability/health.h"
#include "transportd/observability/metrics.h"
#include "transportd/observability/version.h"

namespace {

using transport::observability::ConnectorMetrics;
using transport::observability::Metrics;
using transport::observability::RejectReason;

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

TEST(MetricsRegistry, RendersOneHelpAndTypePerFamilySortedByNameAndLabels) {
  Metrics metrics;
  metrics.counter("transportd_replies_total", "SMTP replies sent", {{"connector", "Default"}, {"class", "5xx"}}) += 3;
  metrics.counter("transportd_replies_total", "SMTP replies sent", {{"class", "2xx"}, {"connector", "Default"}}) += 7;
  metrics.gauge("transportd_sessions_open", "SMTP sessions open now", {{"connector", "Default"}}) = -2;
  metrics.counter("transportd_admin_calls_total", "Admin API calls", {}) += 1;

  EXPECT_EQ(metrics.render(),
            "# HELP transportd_admin_calls_total Admin API calls\n"
            "# TYPE transportd_admin_calls_total counter\n"
            "transportd_admin_calls_total 1\n"
            "# HELP transportd_replies_total SMTP replies sent\n"
            "# TYPE transportd_replies_total counter\n"
            "transportd_replies_total{class=\"2xx\",connector=\"Default\"} 7\n"
            "transportd_replies_total{class=\"5xx\",connector=\"Default\"} 3\n"
            "# HELP transportd_sessions_open SMTP sessions open now\n"
            "# TYPE transportd_sessions_open gauge\n"
            "transportd_sessions_open{connector=\"Default\"} -2\n");
}

TEST(MetricsRegistry, LabelOrderDoesNotMakeANewSeries) {
  Metrics metrics;
  auto& a = metrics.counter("x_total", "x", {{"a", "1"}, {"b", "2"}});
  auto& b = metrics.counter("x_total", "x", {{"b", "2"}, {"a", "1"}});
  EXPECT_EQ(&a, &b);
  auto& other = metrics.counter("x_total", "x", {{"a", "1"}, {"b", "3"}});
  EXPECT_NE(&a, &other);
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelpText) {
  Metrics metrics;
  metrics.counter("x_total", "help with \\ and\nnewline \"quoted\"", {{"connector", "a\\b \"c\"\nd"}}) += 1;
  const std::string text = metrics.render();
  EXPECT_NE(text.find("# HELP x_total help with \\\\ and\\nnewline \"quoted\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_total{connector=\"a\\\\b \\\"c\\\"\\nd\"} 1\n"), std::string::npos) << text;
  // Every line of the exposition is one line: nothing unescaped leaked a newline.
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(line.starts_with("# HELP x_total") || line.starts_with("# TYPE x_total") ||
                line.starts_with("x_total{"))
        << line;
  }
}

TEST(MetricsRegistry, MicrosecondsCounterRendersSeconds) {
  Metrics metrics;
  auto& held = metrics.microseconds_counter("transportd_tarpit_seconds_total", "held", {{"connector", "D"}});
  EXPECT_NE(metrics.render().find("transportd_tarpit_seconds_total{connector=\"D\"} 0.000000\n"), std::string::npos);
  held += 5'000'000;
  held += 1'250;
  const std::string text = metrics.render();
  EXPECT_NE(text.find("# TYPE transportd_tarpit_seconds_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("transportd_tarpit_seconds_total{connector=\"D\"} 5.001250\n"), std::string::npos) << text;
}

TEST(MetricsRegistry, RejectsMisuse) {
  Metrics metrics;
  metrics.counter("x_total", "x", {});
  EXPECT_THROW(metrics.gauge("x_total", "x", {}), std::logic_error);
  EXPECT_THROW(metrics.counter("1bad", "x", {}), std::logic_error);
  EXPECT_THROW(metrics.counter("bad-name", "x", {}), std::logic_error);
  EXPECT_THROW(metrics.counter("y_total", "y", {{"bad-label", "v"}}), std::logic_error);
  EXPECT_THROW(metrics.counter("y_total", "y", {{"__reserved", "v"}}), std::logic_error);
  EXPECT_THROW(metrics.counter("y_total", "y", {{"a", "1"}, {"a", "2"}}), std::logic_error);
}

TEST(MetricsRegistry, CountersFromEightThreadsAddUpExactly) {
  Metrics metrics;
  constexpr int kThreads = 8;
  constexpr int kIncrements = 100'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&metrics, t] {
      // Half the threads look the handle up each time (registration races), half cache it.
      auto& cached = metrics.counter("hits_total", "hits", {{"connector", "Default"}});
      auto& mine = metrics.counter("per_thread_total", "per thread", {{"thread", std::to_string(t)}});
      for (int i = 0; i < kIncrements; ++i) {
        if (t % 2 == 0) {
          metrics.counter("hits_total", "hits", {{"connector", "Default"}}).fetch_add(1, std::memory_order_relaxed);
        } else {
          cached.fetch_add(1, std::memory_order_relaxed);
        }
        mine.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const std::string text = metrics.render();
  EXPECT_NE(text.find("hits_total{connector=\"Default\"} " + std::to_string(kThreads * kIncrements) + "\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(occurrences(text, "# TYPE per_thread_total counter\n"), 1u);
  EXPECT_EQ(occurrences(text, "} " + std::to_string(kIncrements) + "\n"), static_cast<std::size_t>(kThreads));
}

TEST(MetricsRegistry, InstanceCarriesBuildInfo) {
  const std::string text = Metrics::instance().render();
  EXPECT_NE(text.find("# TYPE transportd_build_info gauge\n"), std::string::npos) << text;
  EXPECT_NE(text.find(std::string("transportd_build_info{version=\"") + TRANSPORTD_VERSION + "\"} 1\n"),
            std::string::npos)
      << text;
}

TEST(ConnectorMetrics, FeedsTheDocumentedFamilies) {
  Metrics metrics;
  ConnectorMetrics connector(metrics, "Default MAIL01");
  {
    transport::observability::OpenSessionScope session(connector);
    EXPECT_EQ(connector.sessions_open.load(), 1);
    connector.count_reply(220);
    connector.count_reply(354);
    connector.count_reply(452);
    connector.count_reply(550);
    connector.count_reply(550);
    connector.count_reply(0);  // not a reply: not counted
    connector.count_rejected(RejectReason::unknown_user);
    connector.count_rejected(RejectReason::relay);
    connector.count_delivered(1234);
    {
      transport::observability::TarpitWaitScope wait(connector);
      EXPECT_EQ(connector.tarpit_sessions_waiting.load(), 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(connector.tarpit_sessions_waiting.load(), 0);
    EXPECT_GE(connector.tarpit_microseconds.load(), 20'000u);
  }
  const std::string text = metrics.render();
  const std::string c = "connector=\"Default MAIL01\"";
  for (const std::string& line : {
           "transportd_sessions_open{" + c + "} 0\n",
           "transportd_sessions_total{" + c + "} 1\n",
           "transportd_replies_total{class=\"2xx\"," + c + "} 1\n",
           "transportd_replies_total{class=\"3xx\"," + c + "} 1\n",
           "transportd_replies_total{class=\"4xx\"," + c + "} 1\n",
           "transportd_replies_total{class=\"5xx\"," + c + "} 2\n",
           "transportd_tarpit_waits_total{" + c + "} 1\n",
           "transportd_tarpit_sessions_waiting{" + c + "} 0\n",
           "transportd_rejected_recipients_total{" + c + ",reason=\"unknown_user\"} 1\n",
           "transportd_rejected_recipients_total{" + c + ",reason=\"relay\"} 1\n",
           "transportd_rejected_recipients_total{" + c + ",reason=\"blocked\"} 0\n",
           "transportd_rejected_recipients_total{" + c + ",reason=\"syntax\"} 0\n",
           "transportd_rejected_recipients_total{" + c + ",reason=\"limit\"} 0\n",
           "transportd_messages_delivered_total{" + c + "} 1\n",
           "transportd_bytes_delivered_total{" + c + "} 1234\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing " << line << "in\n" << text;
  }
  EXPECT_NE(text.find("transportd_tarpit_seconds_total{" + c + "} 0.0"), std::string::npos) << text;
}

TEST(ConnectorMetrics, OfReturnsOneSetPerConnector) {
  EXPECT_EQ(&ConnectorMetrics::of("A"), &ConnectorMetrics::of("A"));
  EXPECT_NE(&ConnectorMetrics::of("A"), &ConnectorMetrics::of("B"));
  EXPECT_EQ(&ConnectorMetrics::of("A").sessions_open,
            &Metrics::instance().gauge("transportd_sessions_open", "", {{"connector", "A"}}));
}

TEST(Health, EveryBindingOfEveryEnabledConnectorMustListen) {
  using transport::store::Binding;
  transport::store::Configuration config;
  config.connectors.resize(2);
  config.connectors[0].name = "Default MAIL01";
  config.connectors[0].bindings = {Binding::parse("0.0.0.0:25"), Binding::parse("[::]:25")};
  config.connectors[1].name = "Off";
  config.connectors[1].enabled = false;
  config.connectors[1].bindings = {Binding::parse("127.0.0.1:2525")};

  std::string failing;
  const auto status = [&](const transport::store::ReceiveConnector&, const Binding& b) {
    return b.to_string() == failing ? std::string("failed: Address already in use") : std::string("listening");
  };
  EXPECT_EQ(transport::observability::listener_problem(config, status), "");
  failing = "127.0.0.1:2525";  // the disabled connector's: does not count
  EXPECT_EQ(transport::observability::listener_problem(config, status), "");
  failing = "[::]:25";
  EXPECT_EQ(transport::observability::listener_problem(config, status),
            "[::]:25 of connector \"Default MAIL01\": failed: Address already in use");
}

}  // namespace
