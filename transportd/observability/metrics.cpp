// Metrics: registration of series under a lock, lock-free updates through the returned atomics, and
// the Prometheus text format 0.0.4 rendering.
#include "transportd/observability/metrics.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <mutex>
#include <stdexcept>

#include "transportd/observability/version.h"

namespace transport::observability {

namespace {

bool valid_name(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

// Label values escape backslash, double quote and newline; HELP text escapes backslash and newline.
void append_escaped(std::string& out, std::string_view text, bool escape_quote) {
  for (const char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '"':
        out += escape_quote ? "\\\"" : "\"";
        break;
      default: out += c;
    }
  }
}

// The canonical form of a label set, which is also how it is rendered: {a="1",b="2"}, or "" for none.
std::string label_key(std::string_view metric, Labels labels) {
  std::sort(labels.begin(), labels.end());
  std::string key;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string& label = labels[i].first;
    if (!valid_name(label, false) || label.starts_with("__")) {
      throw std::logic_error("metric " + std::string(metric) + ": bad label name \"" + label + "\"");
    }
    if (i > 0 && labels[i - 1].first == label) {
      throw std::logic_error("metric " + std::string(metric) + ": label \"" + label + "\" given twice");
    }
    key += i == 0 ? "{" : ",";
    key += label;
    key += "=\"";
    append_escaped(key, labels[i].second, true);
    key += '"';
  }
  if (!key.empty()) key += '}';
  return key;
}

}  // namespace

Metrics& Metrics::instance() {
  static Metrics* const metrics = [] {
    auto* created = new Metrics;  // never destroyed: handles may be used by threads still stopping at exit
    created->gauge("transportd_build_info", "Build information; the value is always 1",
                   {{"version", TRANSPORTD_VERSION}}) = 1;
    return created;
  }();
  return *metrics;
}

std::atomic<std::uint64_t>& Metrics::counter(std::string_view name, std::string_view help, Labels labels) {
  return series(Kind::counter, name, help, std::move(labels)).count;
}

std::atomic<std::int64_t>& Metrics::gauge(std::string_view name, std::string_view help, Labels labels) {
  return series(Kind::gauge, name, help, std::move(labels)).level;
}

std::atomic<std::uint64_t>& Metrics::microseconds_counter(std::string_view name, std::string_view help,
                                                           Labels labels) {
  return series(Kind::microseconds_counter, name, help, std::move(labels)).count;
}

Metrics::Series& Metrics::series(Kind kind, std::string_view name, std::string_view help, Labels labels) {
  if (!valid_name(name, true)) throw std::logic_error("bad metric name \"" + std::string(name) + "\"");
  const std::string key = label_key(name, std::move(labels));
  const auto check_kind = [&](const Family& family) {
    if (family.kind != kind) throw std::logic_error("metric " + std::string(name) + " registered as two kinds");
  };
  {
    std::shared_lock lock(mutex_);
    if (auto family = families_.find(name); family != families_.end()) {
      check_kind(family->second);
      if (auto found = family->second.series.find(key); found != family->second.series.end()) return *found->second;
    }
  }
  std::unique_lock lock(mutex_);
  auto family = families_.find(name);
  if (family == families_.end()) {
    family = families_.emplace(std::string(name), Family{kind, std::string(help), {}}).first;
  }
  check_kind(family->second);
  auto& slot = family->second.series[key];
  if (!slot) slot = std::make_unique<Series>();
  return *slot;
}

std::string Metrics::render() const {
  std::string out;
  std::shared_lock lock(mutex_);
  for (const auto& [name, family] : families_) {
    out += "# HELP " + name + " ";
    append_escaped(out, family.help, false);
    out += "\n# TYPE " + name + (family.kind == Kind::gauge ? " gauge\n" : " counter\n");
    for (const auto& [labels, series] : family.series) {
      char value[48];
      switch (family.kind) {
        case Kind::counter:
          std::snprintf(value, sizeof value, "%" PRIu64, series->count.load(std::memory_order_relaxed));
          break;
        case Kind::gauge:
          std::snprintf(value, sizeof value, "%" PRId64, series->level.load(std::memory_order_relaxed));
          break;
        case Kind::microseconds_counter: {
          const std::uint64_t us = series->count.load(std::memory_order_relaxed);
          std::snprintf(value, sizeof value, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
          break;
        }
      }
      out += name;
      out += labels;
      out += ' ';
      out += value;
      out += '\n';
    }
  }
  return out;
}

}  // namespace transport::observability
