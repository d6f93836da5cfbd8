// queue_load_timing: the queue's costs outside ctest (bench/ runs it; DESIGN §9).
//   queue_load_timing [count] [directory]   fills a queue with `count` messages (default 100,000) in the
//                                           stored form, then times QueueStore::load: a restart with a
//                                           full queue (target: within 2 s)
//   queue_load_timing 0 directory           times loading the queue already in directory/queue
//   queue_load_timing add count threads [directory]
//                                           times durable add() of 4 KiB messages from `threads` threads,
//                                           then remove() of all of them: the per-message fsync cost
// Without a directory, a temporary one is used and removed afterwards.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "transportd/queue/queue_store.h"

namespace {

namespace fs = std::filesystem;
using transport::queue::QueuedMessage;
using transport::queue::QueuedRecipient;
using transport::queue::QueueStore;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

QueuedMessage sample_message(std::string id, long i, std::uint64_t size) {
  QueuedMessage message;
  message.id = std::move(id);
  message.arrival_time = 1'790'000'000 + i;
  message.mail_from = "sender" + std::to_string(i) + "@example.com";
  message.size = size;
  message.origin = "MAIL01\\Default MAIL01 from 192.0.2.1";
  QueuedRecipient recipient;
  recipient.address = "user" + std::to_string(i % 1000) + "@example.net";
  message.recipients.push_back(recipient);
  message.recipients.push_back(recipient);
  return message;
}

int time_load(const fs::path& queue_directory, long count) {
  if (count > 0) {
    // Filled without add()'s fsyncs: written directly in the stored form.
    QueueStore store(queue_directory);
    const std::string content(4096, 'x');
    for (long i = 0; i < count; ++i) {
      const QueuedMessage message = sample_message(store.new_id(), i, content.size());
      const std::string envelope = transport::queue::encode_envelope(message);
      std::FILE* f = std::fopen((queue_directory / (message.id + ".ctl")).c_str(), "wb");
      std::fwrite(envelope.data(), 1, envelope.size(), f);
      std::fclose(f);
      f = std::fopen((queue_directory / (message.id + ".eml")).c_str(), "wb");
      std::fwrite(content.data(), 1, content.size(), f);
      std::fclose(f);
    }
  }
  // The page cache is left as it is (dropping it needs root and slows everyone on the machine); a
  // restart after a crash finds it warm too, unless the machine rebooted.
  const auto start = std::chrono::steady_clock::now();
  QueueStore store(queue_directory);
  std::vector<std::string> problems;
  const auto messages = store.load(problems);
  const double elapsed = seconds_since(start);
  std::printf("loaded %zu messages in %.3f s (%.1f us each), %zu problems\n", messages.size(), elapsed,
              elapsed * 1e6 / static_cast<double>(messages.empty() ? 1 : messages.size()), problems.size());
  return (count == 0 || messages.size() == static_cast<std::size_t>(count)) && problems.empty() ? 0 : 1;
}

int time_add(const fs::path& queue_directory, long count, long threads) {
  QueueStore store(queue_directory);
  const std::string content(4096, 'x');
  std::vector<std::string> ids(static_cast<std::size_t>(count));
  for (auto& id : ids) id = store.new_id();
  bool failed = false;
  const auto run = [&](auto&& operation) {
    std::vector<std::thread> workers;
    for (long t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        std::string error;
        for (long i = t; i < count; i += threads) {
          if (!operation(i, error)) {
            std::fprintf(stderr, "%s\n", error.c_str());
            failed = true;
            return;
          }
        }
      });
    }
    for (auto& worker : workers) worker.join();
  };
  auto start = std::chrono::steady_clock::now();
  run([&](long i, std::string& error) {
    return store.add(sample_message(ids[static_cast<std::size_t>(i)], i, content.size()), content, error);
  });
  double elapsed = seconds_since(start);
  std::printf("add: %ld messages from %ld threads in %.3f s: %.0f messages/s\n", count, threads, elapsed,
              static_cast<double>(count) / elapsed);
  start = std::chrono::steady_clock::now();
  run([&](long i, std::string& error) { return store.remove(ids[static_cast<std::size_t>(i)], error); });
  elapsed = seconds_since(start);
  std::printf("remove: %ld messages from %ld threads in %.3f s: %.0f messages/s\n", count, threads, elapsed,
              static_cast<double>(count) / elapsed);
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const bool adding = argc > 1 && std::string_view(argv[1]) == "add";
  const int first = adding ? 2 : 1;
  const long count = argc > first ? std::strtol(argv[first], nullptr, 10) : (adding ? 2000 : 100000);
  const long threads = adding && argc > 3 ? std::max(1L, std::strtol(argv[3], nullptr, 10)) : 1;
  const int directory_argument = adding ? 4 : 2;
  fs::path directory;
  bool temporary = false;
  if (argc > directory_argument) {
    directory = argv[directory_argument];
  } else {
    std::string pattern = (fs::temp_directory_path() / "queue_load_timing_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    directory = pattern;
    temporary = true;
  }
  const int result = adding ? time_add(directory / "queue", count, threads) : time_load(directory / "queue", count);
  if (temporary) fs::remove_all(directory);
  return result;
}
