// QueueStore on real files in a temporary directory: add/append/remove/load round trips, a spool file
// linked (not copied) into the queue, what load() does with torn, orphaned, damaged and foreign files,
// concurrent adds sharing directory fsyncs, and a queue of 10,000 entries.
#include "transportd/queue/queue_store.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "transportd/delivery/spool_file.h"

namespace transport::queue {
namespace {

namespace fs = std::filesystem;

class QueueStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "queue_store_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    data_dir_ = pattern;
    queue_dir_ = data_dir_ / "queue";
  }
  void TearDown() override { fs::remove_all(data_dir_); }

  // The queue's entries (spare control files, kept for reuse, are not entries).
  std::set<std::string> files() const {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(queue_dir_)) {
      if (entry.path().extension() != ".spare") names.insert(entry.path().filename().string());
    }
    return names;
  }

  std::vector<std::string> spares() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(queue_dir_)) {
      if (entry.path().extension() == ".spare") names.push_back(entry.path().filename().string());
    }
    return names;
  }

  static ino_t inode_of(const fs::path& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
  }

  static std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  static void write(const fs::path& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }

  static QueuedMessage message(const std::string& id, std::size_t recipients = 2) {
    QueuedMessage m;
    m.id = id;
    m.arrival_time = 1'790'000'000;
    m.mail_from = "sender@example.com";
    m.size = 11;
    m.origin = "MAIL01\\Default MAIL01 from 192.0.2.1";
    for (std::size_t i = 0; i < recipients; ++i) {
      QueuedRecipient r;
      r.address = "user" + std::to_string(i) + "@example.net";
      m.recipients.push_back(r);
    }
    return m;
  }

  static std::vector<QueuedMessage> load(QueueStore& store, std::vector<std::string>& problems) {
    problems.clear();
    return store.load(problems);
  }

  static std::string joined(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines) text += line + "\n";
    return text;
  }

  fs::path data_dir_;
  fs::path queue_dir_;
};

TEST_F(QueueStoreTest, CreatesThePrivateDirectory) {
  QueueStore store(queue_dir_);
  struct stat st {};
  ASSERT_EQ(::stat(queue_dir_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(store.content_path("abc"), queue_dir_ / "abc.eml");
}

TEST_F(QueueStoreTest, IdsAreUniqueSortedAndSafeFileNames) {
  QueueStore store(queue_dir_);
  std::vector<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.push_back(store.new_id());
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  for (const std::string& id : {ids.front(), ids.back()}) {
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef-"), std::string::npos) << id;
  }
  // From another store (a restart) and from several threads at once: still unique.
  QueueStore again(queue_dir_);
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& out : per_thread) {
    threads.emplace_back([&again, &out] {
      for (int i = 0; i < 2000; ++i) out.push_back(again.new_id());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all(ids.begin(), ids.end());
  for (const auto& out : per_thread) all.insert(out.begin(), out.end());
  EXPECT_EQ(all.size(), 10000u + 4 * 2000u);
  // Sortable by arrival across stores once the clock has passed the first store's last id (ids made
  // faster than one per microsecond run ahead of the clock).
  const auto last_time = std::stoull(ids.back().substr(0, 16), nullptr, 16);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (static_cast<unsigned long long>(std::chrono::duration_cast<std::chrono::microseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count()) <= last_time &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_GT(again.new_id(), ids.back()) << "sortable by arrival across stores";
}

TEST_F(QueueStoreTest, AddAppendRemoveLoadRoundTrip) {
  std::vector<std::string> problems;
  std::string error;
  std::string first_id, second_id;
  {
    QueueStore store(queue_dir_);
    first_id = store.new_id();
    second_id = store.new_id();
    ASSERT_TRUE(store.add(message(first_id), "Subject: 1\r\n\r\nbody\r\n", error)) << error;
    ASSERT_TRUE(store.add(message(second_id, 3), "Subject: 2\r\n\r\nbody\r\n", error)) << error;
    EXPECT_EQ(read(store.content_path(first_id)), "Subject: 1\r\n\r\nbody\r\n");
    ASSERT_TRUE(store.append(first_id, {Record::Kind::delivered, 1, "250 2.0.0 ok", "mx.example"}, error)) << error;
    ASSERT_TRUE(store.append(first_id, {Record::Kind::suspended, 0, "", ""}, error)) << error;
    ASSERT_TRUE(store.append(second_id, {Record::Kind::failed, 2, "550 5.1.1 unknown\r\n", "mx2"}, error)) << error;
    ASSERT_TRUE(store.append(second_id, {Record::Kind::reported, 2, "", ""}, error)) << error;
  }
  QueueStore store(queue_dir_);
  auto loaded = load(store, problems);
  EXPECT_TRUE(problems.empty()) << joined(problems);
  ASSERT_EQ(loaded.size(), 2u);
  QueuedMessage expected_first = message(first_id);
  apply(expected_first, {Record::Kind::delivered, 1, "250 2.0.0 ok", "mx.example"});
  expected_first.suspended = true;
  EXPECT_EQ(loaded[0], expected_first);
  EXPECT_EQ(loaded[1].id, second_id);
  EXPECT_EQ(loaded[1].recipients[2].state, RecipientState::failed);
  EXPECT_EQ(loaded[1].recipients[2].last_error, "550 5.1.1 unknown\r\n");
  EXPECT_TRUE(loaded[1].recipients[2].reported);

  ASSERT_TRUE(store.remove(first_id, error)) << error;
  EXPECT_EQ(files(), (std::set<std::string>{second_id + ".ctl", second_id + ".eml"}));
  loaded = load(store, problems);
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].id, second_id);
  EXPECT_TRUE(problems.empty()) << joined(problems);

  EXPECT_FALSE(store.remove(first_id, error)) << "removed twice";
  EXPECT_FALSE(error.empty());
  error.clear();
  EXPECT_FALSE(store.append(first_id, {Record::Kind::resumed, 0, "", ""}, error)) << "appended to a removed message";
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(files(), (std::set<std::string>{second_id + ".ctl", second_id + ".eml"})) << "append created nothing";
}

TEST_F(QueueStoreTest, ARemovedControlFileIsReusedAndItsOldContentNeverReadAgain) {
  std::vector<std::string> problems;
  std::string error;
  std::string big, small, third;
  {
    QueueStore store(queue_dir_);
    big = store.new_id();
    ASSERT_TRUE(store.add(message(big, 40), "big", error)) << error;
    ASSERT_TRUE(store.append(big, {Record::Kind::delivered, 3, "250 ok", "mx"}, error)) << error;
    const ino_t inode = inode_of(queue_dir_ / (big + ".ctl"));
    ASSERT_TRUE(store.remove(big, error)) << error;
    EXPECT_EQ(files(), std::set<std::string>{});
    ASSERT_EQ(spares().size(), 1u) << "the control file is kept for reuse";

    // A shorter envelope in the same file: the longer one it replaces leaves nothing behind.
    small = store.new_id();
    ASSERT_TRUE(store.add(message(small, 1), "small", error)) << error;
    EXPECT_EQ(inode_of(queue_dir_ / (small + ".ctl")), inode) << "the spare became the new control file";
    EXPECT_TRUE(spares().empty());
    EXPECT_FALSE(store.append(big, {Record::Kind::suspended, 0, "", ""}, error)) << "the removed id is gone";
  }
  {
    QueueStore store(queue_dir_);
    auto loaded = load(store, problems);
    EXPECT_TRUE(problems.empty()) << joined(problems);
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0], message(small, 1));
    // Spares survive a restart and are taken again; an id already queued is refused as before.
    ASSERT_TRUE(store.remove(small, error)) << error;
  }
  QueueStore store(queue_dir_);
  EXPECT_TRUE(load(store, problems).empty());
  EXPECT_TRUE(problems.empty()) << joined(problems) << "a spare is not a stray file";
  ASSERT_EQ(spares().size(), 1u);
  const ino_t spare_inode = inode_of(queue_dir_ / spares().front());
  third = store.new_id();
  ASSERT_TRUE(store.add(message(third), "third", error)) << error;
  EXPECT_EQ(inode_of(queue_dir_ / (third + ".ctl")), spare_inode);
  ASSERT_TRUE(store.remove(third, error)) << error;

  // A spare never replaces a control file in the way (its content missing): refused, both left as found.
  const std::string blocked = store.new_id();
  write(queue_dir_ / (blocked + ".ctl"), "someone else's\n");
  error.clear();
  EXPECT_FALSE(store.add(message(blocked), "content", error));
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(read(queue_dir_ / (blocked + ".ctl")), "someone else's\n");
  EXPECT_FALSE(fs::exists(store.content_path(blocked)));
}

TEST_F(QueueStoreTest, SpareControlFilesAreBounded) {
  QueueStore store(queue_dir_);
  std::string error;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < QueueStore::kMaxSpareControlFiles + 3; ++i) {
    ids.push_back(store.new_id());
    ASSERT_TRUE(store.add(message(ids.back(), 1), "x", error)) << error;
  }
  for (const std::string& id : ids) ASSERT_TRUE(store.remove(id, error)) << error;
  EXPECT_EQ(files(), std::set<std::string>{});
  EXPECT_EQ(spares().size(), QueueStore::kMaxSpareControlFiles);
}

TEST_F(QueueStoreTest, SpareControlFilesAreBoundedUnderConcurrentRemovals) {
  QueueStore store(queue_dir_);
  std::string error;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < 2 * QueueStore::kMaxSpareControlFiles; ++i) {
    ids.push_back(store.new_id());
    ASSERT_TRUE(store.add(message(ids.back(), 1), "x", error)) << error;
  }
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (std::size_t t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::string e;
      for (std::size_t i = t; i < ids.size(); i += 8) {
        if (!store.remove(ids[i], e)) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(files(), std::set<std::string>{});
  EXPECT_EQ(spares().size(), QueueStore::kMaxSpareControlFiles);  // never more, however they interleave
}

TEST_F(QueueStoreTest, TheReceivedSpoolFileIsLinkedIntoTheQueue) {
  const fs::path spool_dir = data_dir_ / "spool";
  fs::create_directories(spool_dir);
  QueueStore store(queue_dir_);
  std::string error;
  const std::string id = store.new_id();
  {
    auto spool = delivery::SpoolFile::create(spool_dir, error);
    ASSERT_NE(spool, nullptr) << error;
    ASSERT_TRUE(spool->append("Subject: spooled\r\n\r\n", error)) << error;
    ASSERT_TRUE(spool->append(std::string(100000, 'x'), error)) << error;
    QueuedMessage m = message(id);
    m.size = spool->size();
    ASSERT_TRUE(store.add(m, *spool, error)) << error;
  }  // the spool file is closed: its queue name keeps it
  EXPECT_EQ(read(store.content_path(id)), "Subject: spooled\r\n\r\n" + std::string(100000, 'x'));
  std::vector<std::string> problems;
  const auto loaded = load(store, problems);
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].size, 100000u + 20u);
  EXPECT_TRUE(problems.empty()) << joined(problems);
}

TEST_F(QueueStoreTest, AFailedAddLeavesNothingBehind) {
  QueueStore store(queue_dir_);
  std::string error;
  const std::string id = store.new_id();
  ASSERT_TRUE(store.add(message(id), "first", error)) << error;
  const std::string control_before = read(queue_dir_ / (id + ".ctl"));
  EXPECT_FALSE(store.add(message(id), "second", error)) << "the same id twice";
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(read(store.content_path(id)), "first");
  EXPECT_EQ(read(queue_dir_ / (id + ".ctl")), control_before);

  // A control file in the way (its content missing): the new content is taken away again.
  const std::string blocked = store.new_id();
  write(queue_dir_ / (blocked + ".ctl"), "someone else's\n");
  error.clear();
  EXPECT_FALSE(store.add(message(blocked), "content", error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(fs::exists(store.content_path(blocked)));
  fs::remove(queue_dir_ / (blocked + ".ctl"));

  for (const std::string& bad : std::vector<std::string>{"", "../escape", "a.b", "a/b", "sp ace", std::string(200, 'a')}) {
    error.clear();
    EXPECT_FALSE(store.add(message(bad), "x", error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
    EXPECT_FALSE(store.append(bad, {Record::Kind::suspended, 0, "", ""}, error)) << bad;
    EXPECT_FALSE(store.remove(bad, error)) << bad;
  }
  EXPECT_EQ(files(), (std::set<std::string>{id + ".ctl", id + ".eml"}));
  EXPECT_FALSE(fs::exists(data_dir_ / "escape.eml"));
}

TEST_F(QueueStoreTest, LoadRemovesAControlFileThatWasNeverCommitted) {
  QueueStore store(queue_dir_);
  std::string error;
  const std::string id = store.new_id();
  ASSERT_TRUE(store.add(message(id), "content", error)) << error;
  const std::string control = read(queue_dir_ / (id + ".ctl"));
  const std::string torn = control.substr(0, control.rfind("commit"));  // a crash before the commit line
  write(queue_dir_ / (id + ".ctl"), torn);
  const std::string kept = store.new_id();
  ASSERT_TRUE(store.add(message(kept), "kept", error)) << error;

  std::vector<std::string> problems;
  const auto loaded = load(store, problems);
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].id, kept);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_NE(problems[0].find(id + ".ctl"), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("removed"), std::string::npos) << problems[0];
  EXPECT_EQ(files(), (std::set<std::string>{kept + ".ctl", kept + ".eml"}));
}

TEST_F(QueueStoreTest, LoadCutsOffATornRecordSoTheNextAppendIsReadable) {
  QueueStore store(queue_dir_);
  std::string error;
  const std::string id = store.new_id();
  ASSERT_TRUE(store.add(message(id), "content", error)) << error;
  ASSERT_TRUE(store.append(id, {Record::Kind::delivered, 0, "250 ok", "mx"}, error)) << error;
  {
    std::ofstream out(queue_dir_ / (id + ".ctl"), std::ios::binary | std::ios::app);
    out << "failed 1 550+20half";  // a crash in the middle of a record
  }
  std::vector<std::string> problems;
  auto loaded = load(store, problems);
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].recipients[0].state, RecipientState::delivered);
  EXPECT_EQ(loaded[0].recipients[1].state, RecipientState::ready) << "the torn record is not applied";
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_NE(problems[0].find("torn"), std::string::npos) << problems[0];

  ASSERT_TRUE(store.append(id, {Record::Kind::failed, 1, "550 whole", "mx"}, error)) << error;
  loaded = load(store, problems);
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_TRUE(problems.empty()) << joined(problems);
  EXPECT_EQ(loaded[0].recipients[1].state, RecipientState::failed);
  EXPECT_EQ(loaded[0].recipients[1].last_error, "550 whole");
}

TEST_F(QueueStoreTest, LoadRemovesOrphanContentAndAControlFileWithoutContent) {
  QueueStore store(queue_dir_);
  std::string error;
  const std::string orphan = store.new_id();
  write(queue_dir_ / (orphan + ".eml"), "a crash between link and control file");
  const std::string no_content = store.new_id();
  ASSERT_TRUE(store.add(message(no_content), "content", error)) << error;
  fs::remove(store.content_path(no_content));
  const std::string good = store.new_id();
  ASSERT_TRUE(store.add(message(good), "content", error)) << error;

  std::vector<std::string> problems;
  auto loaded = load(store, problems);
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].id, good);
  ASSERT_EQ(problems.size(), 2u) << joined(problems);
  const std::string all = joined(problems);
  EXPECT_NE(all.find(orphan + ".eml"), std::string::npos) << all;
  EXPECT_NE(all.find(no_content + ".ctl"), std::string::npos) << all;
  EXPECT_EQ(files(), (std::set<std::string>{good + ".ctl", good + ".eml"}));

  loaded = load(store, problems);
  EXPECT_EQ(loaded.size(), 1u);
  EXPECT_TRUE(problems.empty()) << "each problem is reported once: " << joined(problems);
}

TEST_F(QueueStoreTest, ADamagedCommittedControlFileIsKeptAsideNotLoadedNorDeleted) {
  QueueStore store(queue_dir_);
  std::string error;
  const std::string id = store.new_id();
  ASSERT_TRUE(store.add(message(id), "content", error)) << error;
  std::string control = read(queue_dir_ / (id + ".ctl"));
  control[control.find("sender")] = 'S';  // a bit flipped by the disk: the checksum no longer matches
  write(queue_dir_ / (id + ".ctl"), control);
  // Another file's envelope under this name.
  const std::string other = store.new_id();
  ASSERT_TRUE(store.add(message(other), "content", error)) << error;
  const std::string renamed = store.new_id();
  fs::rename(queue_dir_ / (other + ".ctl"), queue_dir_ / (renamed + ".ctl"));
  fs::rename(queue_dir_ / (other + ".eml"), queue_dir_ / (renamed + ".eml"));
  write(queue_dir_ / "README", "not ours");

  std::vector<std::string> problems;
  auto loaded = load(store, problems);
  EXPECT_TRUE(loaded.empty());
  ASSERT_EQ(problems.size(), 3u) << joined(problems);
  const std::string all = joined(problems);
  EXPECT_NE(all.find("checksum"), std::string::npos) << all;
  EXPECT_NE(all.find("names another message"), std::string::npos) << all;
  EXPECT_NE(all.find("README"), std::string::npos) << all;
  EXPECT_EQ(files(), (std::set<std::string>{id + ".ctl.corrupt", id + ".eml.corrupt", renamed + ".ctl.corrupt",
                                            renamed + ".eml.corrupt", "README"}));
  loaded = load(store, problems);
  EXPECT_TRUE(loaded.empty());
  ASSERT_EQ(problems.size(), 1u) << "only the foreign file, again: " << joined(problems);
}

TEST_F(QueueStoreTest, ConcurrentAddsAndRemovesAreAllDurableAndLoaded) {
  QueueStore store(queue_dir_);
  constexpr int kThreads = 6;
  constexpr int kEach = 60;
  std::vector<std::vector<std::string>> added(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string id = store.new_id();
        std::string error;
        if (!store.add(message(id), "content " + id, error)) {
          errors[t] = error;
          return;
        }
        added[t].push_back(id);
        // Every third one delivered and removed at once, while the others add.
        if (i % 3 == 0 && !store.remove(id, error)) {
          errors[t] = error;
          return;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::vector<std::string> expected;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(errors[t].empty()) << errors[t];
    for (int i = 0; i < static_cast<int>(added[t].size()); ++i) {
      if (i % 3 != 0) expected.push_back(added[t][static_cast<std::size_t>(i)]);
    }
  }
  std::sort(expected.begin(), expected.end());
  QueueStore restarted(queue_dir_);
  std::vector<std::string> problems;
  const auto loaded = load(restarted, problems);
  EXPECT_TRUE(problems.empty()) << joined(problems);
  std::vector<std::string> loaded_ids;
  for (const auto& m : loaded) loaded_ids.push_back(m.id);
  EXPECT_EQ(loaded_ids, expected);
  ASSERT_FALSE(loaded.empty());
  EXPECT_EQ(read(restarted.content_path(loaded.back().id)), "content " + loaded.back().id);
}

TEST_F(QueueStoreTest, NewIdsSortAfterLoadedOnesWhenTheClockWentBack) {
  std::string error;
  const std::string future = "7fffffffffff0000-1";  // made by a clock far ahead
  {
    QueueStore store(queue_dir_);
    ASSERT_TRUE(store.add(message(future), "content", error)) << error;
  }
  QueueStore store(queue_dir_);
  std::vector<std::string> problems;
  ASSERT_EQ(load(store, problems).size(), 1u);
  EXPECT_GT(store.new_id(), future);
}

// SIGKILL at arbitrary points of a stream of adds, appends and removes: after it, load() finds every
// message whose add was acknowledged with every acknowledged record, never one whose removal was, and
// nothing damaged (a kill loses no page cache, so this checks the order of the steps, not the fsyncs).
TEST_F(QueueStoreTest, AfterSigkillAcknowledgedWorkIsThereAndRemovedMessagesStayGone) {
  std::mt19937 random(4242);
  std::map<std::string, int> acknowledged;  // id → records acknowledged; removed ids are erased
  std::set<std::string> removed;
  std::set<std::string> removing;  // killed in remove(): there or not
  for (int round = 0; round < 8; ++round) {
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(pipe_fds[0]);
      QueueStore store(queue_dir_);
      std::string error;
      const auto say = [&](char what, const std::string& id) {
        const std::string line = std::string(1, what) + " " + id + "\n";
        if (::write(pipe_fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(3);
      };
      for (int i = 0;; ++i) {
        const std::string id = store.new_id();
        if (!store.add(message(id), "content of " + id, error)) ::_exit(1);
        say('A', id);
        if (!store.append(id, {Record::Kind::delivered, 0, "250 ok", "mx"}, error)) ::_exit(1);
        say('D', id);
        if (i % 3 == 0) {
          say('X', id);  // removing: from here it may be gone, acknowledged or not
          if (!store.remove(id, error)) ::_exit(1);
          say('R', id);
        }
      }
    }
    ::close(pipe_fds[1]);
    const int kill_after = 2 + static_cast<int>(random() % 12);  // acknowledgements
    std::string log;
    char buffer[512];
    while (std::count(log.begin(), log.end(), '\n') < kill_after) {
      const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
      ASSERT_GT(n, 0) << "the writer stopped early";
      log.append(buffer, static_cast<std::size_t>(n));
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer exited on its own: " << status;
    for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) log.append(buffer, static_cast<std::size_t>(n));
    ::close(pipe_fds[0]);
    std::istringstream lines(log.substr(0, log.rfind('\n') + 1));
    for (std::string what, id; lines >> what >> id;) {
      if (what == "A") acknowledged[id] = 0;
      if (what == "D") acknowledged[id] = 1;
      if (what == "X") removing.insert(id);
      if (what == "R") {
        acknowledged.erase(id);
        removing.erase(id);
        removed.insert(id);
      }
    }

    QueueStore store(queue_dir_);
    std::vector<std::string> problems;
    const auto loaded = load(store, problems);
    for (const std::string& problem : problems) {
      // Only what a kill mid-step leaves: an entry never committed, content without its control file.
      EXPECT_TRUE(problem.find("removed") != std::string::npos) << problem;
    }
    std::map<std::string, const QueuedMessage*> by_id;
    for (const auto& m : loaded) by_id[m.id] = &m;
    for (const auto& [id, records] : acknowledged) {
      if (removing.count(id) && !by_id.count(id)) continue;
      ASSERT_TRUE(by_id.count(id)) << "round " << round << ": acknowledged " << id << " is lost";
      if (records > 0) {
        EXPECT_EQ(by_id[id]->recipients[0].state, RecipientState::delivered) << id;
      }
      EXPECT_EQ(read(store.content_path(id)), "content of " + id);
    }
    for (const std::string& id : removed) EXPECT_FALSE(by_id.count(id)) << "removed " << id << " came back";
    EXPECT_LE(loaded.size(), acknowledged.size() + 1) << "at most the one add in flight, unacknowledged";
    for (const auto& name : files()) EXPECT_EQ(name.find(".corrupt"), std::string::npos) << name;
    // What the kill left unacknowledged but complete counts as queued from now on; a removal the kill
    // interrupted is either done or not.
    for (const std::string& id : removing) {
      if (!by_id.count(id)) {
        acknowledged.erase(id);
        removed.insert(id);
      }
    }
    removing.clear();
    for (const auto& m : loaded) {
      if (!acknowledged.count(m.id)) acknowledged[m.id] = m.recipients[0].state == RecipientState::delivered;
    }
  }
  EXPECT_GT(acknowledged.size(), 0u);
  EXPECT_GT(removed.size(), 0u);
}

// 10,000 entries written in the stored form (add()'s fsyncs are not what this measures): all loaded, in
// arrival order. queue_load_timing measures 100,000 outside ctest.
TEST_F(QueueStoreTest, TenThousandEntriesLoadInArrivalOrder) {
  QueueStore store(queue_dir_);
  std::vector<std::string> ids;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = store.new_id();
    ids.push_back(id);
    QueuedMessage m = message(id, 1 + i % 3);
    write(queue_dir_ / (id + ".ctl"), encode_envelope(m) + encode_record({Record::Kind::delivered, 0, "250", "mx"}));
    write(queue_dir_ / (id + ".eml"), "content");
  }
  std::vector<std::string> problems;
  const auto start = std::chrono::steady_clock::now();
  QueueStore restarted(queue_dir_);
  const auto loaded = load(restarted, problems);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("loaded 10,000 queued messages in %.3f s\n", seconds);
  EXPECT_TRUE(problems.empty()) << joined(problems);
  ASSERT_EQ(loaded.size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(loaded[i].id, ids[i]);
    ASSERT_EQ(loaded[i].recipients.size(), 1 + i % 3);
    ASSERT_EQ(loaded[i].recipients[0].state, RecipientState::delivered);
  }
}

}  // namespace
}  // namespace transport::queue
