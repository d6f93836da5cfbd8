// queue_load_timing: fills a queue directory with N messages (default 100,000) and times QueueStore::load,
// the cost of a restart with a full queue (DESIGN §9: within 2 s). Built, not run by ctest; bench/ runs it.
//   queue_load_timing [count] [directory]   (a temporary directory, removed afterwards, when none given)
//   queue_load_timing 0 directory           (times loading the queue already in directory/queue)
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "transportd/queue/queue_store.h"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  using transport::queue::QueuedMessage;
  using transport::queue::QueuedRecipient;
  const long count = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 100000;
  fs::path directory;
  bool temporary = false;
  if (argc > 2) {
    directory = argv[2];
  } else {
    std::string pattern = (fs::temp_directory_path() / "queue_load_timing_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    directory = pattern;
    temporary = true;
  }
  const fs::path queue_directory = directory / "queue";
  for (bool filled = count == 0; !filled; filled = true) {
    // Filling skips the per-message fsyncs of add(): written directly in the stored form.
    transport::queue::QueueStore store(queue_directory);
    const std::string content(4096, 'x');
    for (long i = 0; i < count; ++i) {
      QueuedMessage message;
      message.id = store.new_id();
      message.arrival_time = 1'790'000'000 + i;
      message.mail_from = "sender" + std::to_string(i) + "@example.com";
      message.size = content.size();
      message.origin = "MAIL01\\Default MAIL01 from 192.0.2.1";
      QueuedRecipient recipient;
      recipient.address = "user" + std::to_string(i % 1000) + "@example.net";
      message.recipients.push_back(recipient);
      message.recipients.push_back(recipient);
      const fs::path control = queue_directory / (message.id + ".ctl");
      const fs::path eml = queue_directory / (message.id + ".eml");
      std::FILE* f = std::fopen(control.c_str(), "wb");
      const std::string envelope = transport::queue::encode_envelope(message);
      std::fwrite(envelope.data(), 1, envelope.size(), f);
      std::fclose(f);
      f = std::fopen(eml.c_str(), "wb");
      std::fwrite(content.data(), 1, content.size(), f);
      std::fclose(f);
    }
  }
  // Drop nothing from the page cache (that needs root and affects others); a restart after a crash
  // reads a warm cache too, unless the machine rebooted.
  const auto start = std::chrono::steady_clock::now();
  transport::queue::QueueStore store(queue_directory);
  std::vector<std::string> problems;
  const auto messages = store.load(problems);
  const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("loaded %zu of %ld messages in %.3f s (%.1f us each), %zu problems\n", messages.size(), count,
              elapsed, elapsed * 1e6 / static_cast<double>(count > 0 ? count : 1), problems.size());
  if (temporary) fs::remove_all(directory);
  if (count == 0) return 0;
  return messages.size() == static_cast<std::size_t>(count) && problems.empty() ? 0 : 1;
}
