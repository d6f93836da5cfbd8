// DeliveryQueues: the per-next-hop queues' rules — order, deferral, retry, suspension — with times
// passed in (no clock, no sockets).
#include "transportd/relay/delivery_queues.h"

#include <gtest/gtest.h>

namespace transport::relay {
namespace {

NextHop smart_host(std::string name) { return NextHop{DeliveryType::smart_host, std::move(name), 7}; }
NextHop mailbox() { return NextHop{DeliveryType::mailbox, "mailbox delivery", 0}; }
Item item(std::string id, std::int64_t not_before = 0) { return Item{std::move(id), {0}, not_before}; }

TEST(DeliveryQueues, ItemsGoInArrivalOrderAndWaitForTheirTime) {
  DeliveryQueues queues;
  const std::string key = queues.add(smart_host("Internet"), item("a")).hop.key();
  queues.add(smart_host("Internet"), item("b", 100));
  queues.add(smart_host("Internet"), item("c"));
  EXPECT_EQ(queues.all().size(), 1u);
  EXPECT_EQ(queues.take(key, 50)->message_id, "a");
  EXPECT_EQ(queues.take(key, 50)->message_id, "c");  // b waits until 100
  EXPECT_FALSE(queues.take(key, 50));
  EXPECT_EQ(queues.next_due(), 100);
  EXPECT_EQ(queues.find(key)->message_count(), 3u);  // two in flight, one waiting
  EXPECT_EQ(queues.take(key, 100)->message_id, "b");
  queues.finished(key);
  queues.finished(key);
  queues.finished(key);
  EXPECT_EQ(queues.find(key)->message_count(), 0u);
  queues.drop_idle();
  EXPECT_TRUE(queues.all().empty());
}

TEST(DeliveryQueues, PutBackFrontWhenUntriedBackWhenDeferred) {
  DeliveryQueues queues;
  const std::string key = queues.add(smart_host("Internet"), item("a")).hop.key();
  queues.add(smart_host("Internet"), item("b"));
  std::optional<Item> a = queues.take(key, 0);
  queues.put_back(key, std::move(*a));  // the connection broke before it was tried
  EXPECT_EQ(queues.take(key, 0)->message_id, "a");
  std::optional<Item> b = queues.take(key, 0);
  b->not_before = 300;  // a 4xx
  queues.put_back(key, std::move(*b));
  EXPECT_EQ(queues.find(key)->in_flight, 1u);
  EXPECT_FALSE(queues.take(key, 299));
  EXPECT_EQ(queues.take(key, 300)->message_id, "b");
}

TEST(DeliveryQueues, ConnectionFailureHoldsTheQueueUntilItsRetryTime) {
  DeliveryQueues queues;
  const std::string key = queues.add(smart_host("Internet"), item("a")).hop.key();
  queues.connection_failed(key, "connection refused", 0, 600);
  const DeliveryQueue& q = *queues.find(key);
  EXPECT_EQ(q.status, QueueStatus::retry);
  EXPECT_EQ(q.last_error, "connection refused");
  EXPECT_FALSE(queues.take(key, 599));
  EXPECT_TRUE(queues.due(599).empty());
  EXPECT_EQ(queues.next_due(), 600);
  EXPECT_EQ(queues.due(600), std::vector<std::string>{key});
  EXPECT_EQ(q.status, QueueStatus::ready);
  queues.connected(key);
  EXPECT_EQ(q.status, QueueStatus::active);
  EXPECT_EQ(q.last_error, "");
}

TEST(DeliveryQueues, RetryNowClearsWaitsAndSuspendStopsEverything) {
  DeliveryQueues queues;
  const std::string key = queues.add(smart_host("Internet"), item("a", 900)).hop.key();
  queues.connection_failed(key, "timeout", 0, 1000);
  EXPECT_TRUE(queues.retry_now(key));
  EXPECT_EQ(queues.find(key)->status, QueueStatus::ready);
  EXPECT_EQ(queues.due(0).size(), 1u);

  EXPECT_TRUE(queues.suspend(key));
  EXPECT_FALSE(queues.take(key, 5000));
  EXPECT_TRUE(queues.due(5000).empty());
  queues.connection_failed(key, "refused", 0, 6000);
  EXPECT_EQ(queues.find(key)->status, QueueStatus::suspended);  // an administrator's suspension wins
  queues.drop_idle();
  EXPECT_NE(queues.find(key), nullptr);
  EXPECT_TRUE(queues.resume(key));
  EXPECT_EQ(queues.find(key)->status, QueueStatus::ready);
  EXPECT_TRUE(queues.take(key, 0));
  EXPECT_FALSE(queues.retry_now("no such queue"));
}

TEST(DeliveryQueues, UnreachableMailWaitsAndRoutingAgainLeavesMailboxDelivery) {
  DeliveryQueues queues;
  const NextHop nowhere{DeliveryType::unreachable, "Unreachable", 0};
  queues.add(nowhere, item("a"));
  queues.add(mailbox(), item("b"));
  queues.add(smart_host("Internet"), item("c"));
  EXPECT_EQ(queues.due(0).size(), 2u);  // never Unreachable
  std::vector<Item> again = queues.take_all_routed();
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(queues.all().size(), 3u);  // kept for the items routed back
  queues.drop_idle();
  EXPECT_EQ(queues.all().size(), 1u);
  EXPECT_EQ(queues.all().begin()->second.hop.type, DeliveryType::mailbox);
  queues.remove_message("b");
  queues.drop_idle();
  EXPECT_TRUE(queues.all().empty());
}

// Routing again after a configuration change keeps a queue in Retry waiting for its retry time.
TEST(DeliveryQueues, RoutingAgainKeepsAQueueInRetry) {
  DeliveryQueues queues;
  const NextHop hop = smart_host("Internet");
  const std::string key = queues.add(hop, item("a")).hop.key();
  queues.connection_failed(key, "refused", 100, 600);
  for (Item& again : queues.take_all_routed()) queues.add(hop, std::move(again));
  queues.drop_idle();
  EXPECT_EQ(queues.find(key)->status, QueueStatus::retry);
  EXPECT_EQ(queues.find(key)->last_error, "refused");
  EXPECT_TRUE(queues.due(699).empty());
  // A longer interval never postpones it; a shorter one brings it forward.
  queues.retry_interval_changed(6000);
  EXPECT_EQ(queues.find(key)->retry_at, 700);
  queues.retry_interval_changed(1);
  EXPECT_EQ(queues.due(101), std::vector<std::string>{key});
}

TEST(DeliveryQueues, Names) {
  EXPECT_EQ(delivery_type_name(DeliveryType::smart_host), "SmartHostConnectorDelivery");
  EXPECT_EQ(delivery_type_name(DeliveryType::dns), "DnsConnectorDelivery");
  EXPECT_EQ(queue_status_name(QueueStatus::retry), "Retry");
  EXPECT_NE(smart_host("A").key(), NextHop({DeliveryType::dns, "A", 7}).key());
}

}  // namespace
}  // namespace transport::relay
