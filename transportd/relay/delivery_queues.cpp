// DeliveryQueues: per-next-hop queues and their status rules; see the header.
#include "transportd/relay/delivery_queues.h"

#include <algorithm>

namespace transport::relay {

namespace {

void note_wait(DeliveryQueue& queue, std::int64_t not_before) {
  if (not_before > 0 && (queue.earliest_wait == 0 || not_before < queue.earliest_wait)) queue.earliest_wait = not_before;
}

}  // namespace

std::string_view delivery_type_name(DeliveryType type) {
  switch (type) {
    case DeliveryType::smart_host: return "SmartHostConnectorDelivery";
    case DeliveryType::dns: return "DnsConnectorDelivery";
    case DeliveryType::mailbox: return "MailboxDelivery";
    case DeliveryType::unreachable: return "Unreachable";
  }
  return "Unreachable";
}

std::string_view queue_status_name(QueueStatus status) {
  switch (status) {
    case QueueStatus::ready: return "Ready";
    case QueueStatus::active: return "Active";
    case QueueStatus::retry: return "Retry";
    case QueueStatus::suspended: return "Suspended";
  }
  return "Ready";
}

std::string NextHop::key() const {
  return std::string(delivery_type_name(type)) + ":" + std::to_string(connector_id) + ":" + domain;
}

DeliveryQueue& DeliveryQueues::add(const NextHop& hop, Item item) {
  auto [it, made] = queues_.try_emplace(hop.key());
  if (made) it->second.hop = hop;
  note_wait(it->second, item.not_before);
  it->second.items.push_back(std::move(item));
  return it->second;
}

std::optional<Item> DeliveryQueues::take(const std::string& key, std::int64_t now) {
  DeliveryQueue* queue = find(key);
  if (queue == nullptr || queue->status == QueueStatus::suspended) return std::nullopt;
  if (queue->status == QueueStatus::retry && queue->retry_at > now) return std::nullopt;
  for (auto it = queue->items.begin(); it != queue->items.end(); ++it) {
    if (it->not_before > now) continue;
    std::optional<Item> item(std::move(*it));
    queue->items.erase(it);
    ++queue->in_flight;
    return item;
  }
  return std::nullopt;
}

void DeliveryQueues::finished(const std::string& key) {
  if (DeliveryQueue* queue = find(key); queue != nullptr && queue->in_flight > 0) --queue->in_flight;
}

void DeliveryQueues::put_back(const std::string& key, Item item) {
  DeliveryQueue* queue = find(key);
  if (queue == nullptr) return;
  if (queue->in_flight > 0) --queue->in_flight;
  note_wait(*queue, item.not_before);
  if (item.not_before == 0) {
    queue->items.push_front(std::move(item));
  } else {
    queue->items.push_back(std::move(item));
  }
}

void DeliveryQueues::connection_failed(const std::string& key, std::string error, std::int64_t now,
                                       std::int64_t interval) {
  DeliveryQueue* queue = find(key);
  if (queue == nullptr) return;
  queue->last_error = std::move(error);
  if (queue->status == QueueStatus::suspended) return;  // resume-queue decides when it goes again
  queue->failed_at = now;
  queue->retry_at = now + interval;
  queue->status = QueueStatus::retry;
}

void DeliveryQueues::retry_interval_changed(std::int64_t interval) {
  for (auto& [key, queue] : queues_) {
    if (queue.status == QueueStatus::retry) queue.retry_at = std::min(queue.retry_at, queue.failed_at + interval);
  }
}

void DeliveryQueues::connected(const std::string& key) {
  DeliveryQueue* queue = find(key);
  if (queue == nullptr || queue->status == QueueStatus::suspended) return;
  queue->status = QueueStatus::active;
  queue->retry_at = 0;
  queue->last_error.clear();
}

bool DeliveryQueues::retry_now(const std::string& key) {
  DeliveryQueue* queue = find(key);
  if (queue == nullptr) return false;
  if (queue->status == QueueStatus::retry) queue->status = QueueStatus::ready;
  queue->retry_at = 0;
  queue->earliest_wait = 0;
  for (Item& item : queue->items) item.not_before = 0;
  return true;
}

bool DeliveryQueues::suspend(const std::string& key) {
  DeliveryQueue* queue = find(key);
  if (queue == nullptr) return false;
  queue->status = QueueStatus::suspended;
  return true;
}

bool DeliveryQueues::resume(const std::string& key) {
  DeliveryQueue* queue = find(key);
  if (queue == nullptr) return false;
  if (queue->status == QueueStatus::suspended) queue->status = queue->retry_at > 0 ? QueueStatus::retry : QueueStatus::ready;
  return true;
}

std::vector<std::string> DeliveryQueues::due(std::int64_t now) {
  std::vector<std::string> keys;
  for (auto& [key, queue] : queues_) {
    if (queue.status == QueueStatus::suspended || queue.hop.type == DeliveryType::unreachable) continue;
    if (queue.status == QueueStatus::retry) {
      if (queue.retry_at > now) continue;
      queue.status = QueueStatus::ready;
    }
    if (queue.earliest_wait > 0 && queue.earliest_wait <= now) {
      // Some wait is over: find the next one still to come (rare: once per deferral time).
      queue.earliest_wait = 0;
      for (const Item& item : queue.items) {
        if (item.not_before > now) note_wait(queue, item.not_before);
      }
    }
    const bool waiting = std::any_of(queue.items.begin(), queue.items.end(),
                                     [now](const Item& item) { return item.not_before <= now; });
    if (waiting) keys.push_back(key);
  }
  return keys;
}

std::int64_t DeliveryQueues::next_due() const {
  std::int64_t next = 0;
  const auto consider = [&next](std::int64_t at) {
    if (at > 0 && (next == 0 || at < next)) next = at;
  };
  for (const auto& [key, queue] : queues_) {
    if (queue.status == QueueStatus::suspended || queue.hop.type == DeliveryType::unreachable) continue;
    if (queue.status == QueueStatus::retry) {
      consider(queue.retry_at);
      continue;
    }
    consider(queue.earliest_wait);
  }
  return next;
}

std::vector<Item> DeliveryQueues::remove_message(const std::string& message_id) {
  std::vector<Item> removed;
  for (auto& [key, queue] : queues_) {
    std::erase_if(queue.items, [&](Item& item) {
      if (item.message_id != message_id) return false;
      removed.push_back(std::move(item));
      return true;
    });
  }
  return removed;
}

std::vector<Item> DeliveryQueues::take_all_routed() {
  std::vector<Item> items;
  for (auto& [key, queue] : queues_) {
    if (queue.hop.type == DeliveryType::mailbox) continue;
    for (Item& item : queue.items) items.push_back(std::move(item));
    queue.items.clear();
  }
  // Queues stay (with their status, retry time and LastError) for the items routed back to them; the
  // caller drops the ones left empty.
  return items;
}

void DeliveryQueues::drop_idle() {
  std::erase_if(queues_, [](const auto& entry) {
    const DeliveryQueue& queue = entry.second;
    return queue.items.empty() && queue.in_flight == 0 && queue.connections == 0 &&
           queue.status != QueueStatus::suspended;
  });
}

DeliveryQueue* DeliveryQueues::find(const std::string& key) {
  auto it = queues_.find(key);
  return it == queues_.end() ? nullptr : &it->second;
}

}  // namespace transport::relay
