// MaildirStore on real files in a temporary directory: layout, LF conversion, deduplication, unique
// names under concurrency, all-or-nothing cleanup, and refusal of addresses unusable as directory names.
#include "transportd/delivery/maildir.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace transport::delivery {
namespace {

namespace fs = std::filesystem;

class DeliveryMaildir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "delivery_maildir_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    data_dir_ = pattern;
    root_ = data_dir_ / "mailboxes";
  }
  void TearDown() override { fs::remove_all(data_dir_); }

  static std::vector<fs::path> files_in(const fs::path& directory) {
    std::vector<fs::path> files;
    if (!fs::exists(directory)) return files;
    for (const auto& entry : fs::directory_iterator(directory)) files.push_back(entry.path());
    return files;
  }

  static std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  static unsigned mode_of(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  fs::path data_dir_;
  fs::path root_;
};

const std::string kHeader = "Received: from client ([192.0.2.7])\r\n\tby mx; Mon, 2 Mar 2026 08:47:05 +0000\r\n";
const std::string kBody =
    "Subject: caf\xc3\xa9\r\n"
    "\r\n"
    "8-bit: \xe9\xff\x80 untouched\r\n"
    "a bare\rCR stays\r\n"
    "last line\r\n";
const std::string kOnDisk =
    "Received: from client ([192.0.2.7])\n\tby mx; Mon, 2 Mar 2026 08:47:05 +0000\n"
    "Subject: caf\xc3\xa9\n"
    "\n"
    "8-bit: \xe9\xff\x80 untouched\n"
    "a bare\rCR stays\n"
    "last line\n";

TEST_F(DeliveryMaildir, DeliversToEveryMailboxWithLfEndings) {
  MaildirStore store(root_);
  const DeliveryResult result = store.deliver({"alice@contoso.com", "Bob@Contoso.com"}, kHeader, kBody);
  ASSERT_TRUE(result.ok) << result.error;
  ASSERT_EQ(result.files.size(), 2u);

  for (const std::string mailbox : {"alice@contoso.com", "bob@contoso.com"}) {
    const fs::path maildir = root_ / mailbox / "Maildir";
    const auto delivered = files_in(maildir / "new");
    ASSERT_EQ(delivered.size(), 1u) << mailbox;
    EXPECT_EQ(read(delivered[0]), kOnDisk) << mailbox;
    EXPECT_TRUE(files_in(maildir / "tmp").empty()) << mailbox;
    EXPECT_TRUE(fs::is_directory(maildir / "cur")) << mailbox;
    EXPECT_TRUE(files_in(maildir / "cur").empty()) << mailbox;
    for (const fs::path& directory : {root_ / mailbox, maildir, maildir / "tmp", maildir / "new", maildir / "cur"}) {
      EXPECT_EQ(mode_of(directory) & 0077, 0u) << directory;
    }
    EXPECT_EQ(mode_of(delivered[0]), 0600u);
    EXPECT_NE(std::find(result.files.begin(), result.files.end(), delivered[0]), result.files.end());
  }
}

TEST_F(DeliveryMaildir, SecondDeliveryReusesTheMaildir) {
  MaildirStore store(root_);
  ASSERT_TRUE(store.deliver({"alice@contoso.com"}, kHeader, kBody).ok);
  const DeliveryResult second = store.deliver({"alice@contoso.com"}, "", "Subject: two\r\n\r\nx\r\n");
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_EQ(files_in(root_ / "alice@contoso.com" / "Maildir" / "new").size(), 2u);
  EXPECT_EQ(read(second.files.at(0)), "Subject: two\n\nx\n");
}

TEST_F(DeliveryMaildir, CrLfSplitBetweenHeaderAndBodyIsOneLineEnding) {
  MaildirStore store(root_);
  const DeliveryResult result = store.deliver({"alice@contoso.com"}, "X-A: 1\r", "\nX-B: 2\r\n\r\n");
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(read(result.files.at(0)), "X-A: 1\nX-B: 2\n\n");
}

TEST_F(DeliveryMaildir, DuplicateAddressesGetOneCopy) {
  MaildirStore store(root_);
  const DeliveryResult result =
      store.deliver({"alice@contoso.com", "ALICE@contoso.com", "alice@contoso.com"}, kHeader, kBody);
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.files.size(), 1u);
  EXPECT_EQ(files_in(root_ / "alice@contoso.com" / "Maildir" / "new").size(), 1u);
  EXPECT_EQ(files_in(root_).size(), 1u);
}

TEST_F(DeliveryMaildir, NamesAreUniqueAcrossConcurrentDeliveries) {
  MaildirStore store(root_);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 250;
  std::vector<std::vector<fs::path>> delivered(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Every thread also creates a mailbox of its own, racing the others on the shared one.
        DeliveryResult result =
            store.deliver({"shared@contoso.com", "user" + std::to_string(t) + "@contoso.com"}, kHeader, "x\r\n");
        if (!result.ok) {
          errors[t] = result.error;
          return;
        }
        delivered[t].push_back(result.files.at(0));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& error : errors) ASSERT_EQ(error, "");

  const std::regex maildir_name(R"(\d+\.M\d+P\d+Q\d+\.[^/:]+)");
  std::set<std::string> names;
  for (const auto& files : delivered) {
    for (const auto& file : files) {
      EXPECT_TRUE(std::regex_match(file.filename().string(), maildir_name)) << file;
      names.insert(file.filename().string());
    }
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(files_in(root_ / "shared@contoso.com" / "Maildir" / "new").size(),
            static_cast<std::size_t>(kThreads * kPerThread));
}

TEST_F(DeliveryMaildir, FailureForOneMailboxRemovesEveryCopy) {
  // A regular file where bob's Maildir directory should be: its tmp/ cannot be made, whoever runs the test.
  fs::create_directories(root_ / "bob@contoso.com");
  std::ofstream(root_ / "bob@contoso.com" / "Maildir") << "not a directory";

  MaildirStore store(root_);
  const DeliveryResult result =
      store.deliver({"alice@contoso.com", "bob@contoso.com", "carol@contoso.com"}, kHeader, kBody);
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.files.empty());
  EXPECT_NE(result.error.find("bob@contoso.com"), std::string::npos) << result.error;
  EXPECT_NE(result.error.find((root_ / "bob@contoso.com" / "Maildir").string()), std::string::npos) << result.error;
  EXPECT_NE(result.error.find("Not a directory"), std::string::npos) << result.error;

  const fs::path alice = root_ / "alice@contoso.com" / "Maildir";
  EXPECT_TRUE(fs::is_directory(alice / "new"));  // alice's copy was written before bob failed
  EXPECT_TRUE(files_in(alice / "new").empty());
  EXPECT_TRUE(files_in(alice / "tmp").empty());
  EXPECT_FALSE(fs::exists(root_ / "carol@contoso.com"));
}

TEST_F(DeliveryMaildir, AddressesUnusableAsDirectoryNamesAreRefused) {
  MaildirStore store(root_);
  const std::vector<std::string> refused = {
      "../escape@contoso.com", "a/b@contoso.com", "..", ".", std::string("nul\0@contoso.com", 16), ""};
  for (const std::string& address : refused) {
    // Listed after a good address: nothing at all may be written.
    const DeliveryResult result = store.deliver({"alice@contoso.com", address}, kHeader, kBody);
    EXPECT_FALSE(result.ok) << address;
    EXPECT_NE(result.error.find("refusing mailbox address"), std::string::npos) << result.error;
  }
  EXPECT_FALSE(fs::exists(root_));
  EXPECT_EQ(files_in(data_dir_).size(), 0u);
}

TEST_F(DeliveryMaildir, NoAddressIsAFailure) {
  MaildirStore store(root_);
  const DeliveryResult result = store.deliver({}, kHeader, kBody);
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.error.empty());
}

TEST_F(DeliveryMaildir, MissingParentOfRootIsReported) {
  MaildirStore store(data_dir_ / "absent" / "mailboxes");
  const DeliveryResult result = store.deliver({"alice@contoso.com"}, kHeader, kBody);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.find((data_dir_ / "absent").string()), std::string::npos) << result.error;
  EXPECT_NE(result.error.find("No such file or directory"), std::string::npos) << result.error;
}

TEST_F(DeliveryMaildir, AMaildirRemovedWhileRunningIsMadeAgain) {
  MaildirStore store(root_);
  ASSERT_TRUE(store.deliver({"alice@contoso.com"}, kHeader, kBody).ok);
  fs::remove_all(root_ / "alice@contoso.com");  // an administrator's cleanup, behind the store's back
  const DeliveryResult again = store.deliver({"alice@contoso.com"}, kHeader, kBody);
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_EQ(files_in(root_ / "alice@contoso.com" / "Maildir" / "new").size(), 1u);
  EXPECT_TRUE(fs::is_directory(root_ / "alice@contoso.com" / "Maildir" / "cur"));
}

TEST(DeliveryFileName, RecognizesOnlyTheStoresOwnFormat) {
  EXPECT_TRUE(is_delivery_file_name("1795430825.M123456P4242Q17.mx1"));
  EXPECT_TRUE(is_delivery_file_name("1.M0P1Q1.host\\057with\\072escapes"));
  // Dovecot's and Courier's names, and anything else, are left alone.
  EXPECT_FALSE(is_delivery_file_name("1795430825.M123456P4242.mx1"));
  EXPECT_FALSE(is_delivery_file_name("1795430825.M123456P4242_3.mx1"));
  EXPECT_FALSE(is_delivery_file_name("1795430825.M123456P4242Q17."));
  EXPECT_FALSE(is_delivery_file_name(".M1P1Q1.mx1"));
  EXPECT_FALSE(is_delivery_file_name("notes.txt"));
  EXPECT_FALSE(is_delivery_file_name(""));
}

TEST_F(DeliveryMaildir, InterruptedDeliveriesAreRemovedAndNothingElse) {
  MaildirStore store(root_);
  ASSERT_TRUE(store.deliver({"alice@contoso.com"}, kHeader, kBody).ok);
  const fs::path tmp = root_ / "alice@contoso.com" / "Maildir" / "tmp";
  for (const char* name : {"1795430825.M1P7Q1.mx1", "1795430825.M2P7Q2.mx1", "1795430825.M3P9.dovecot"}) {
    std::ofstream(tmp / name) << "partial";
  }
  fs::create_directories(root_ / "no-maildir-here");
  std::ofstream(root_ / "stray-file") << "x";

  std::vector<std::string> problems;
  EXPECT_EQ(store.remove_interrupted_deliveries(problems), 2u);
  EXPECT_TRUE(problems.empty()) << problems.front();
  const std::vector<fs::path> left = files_in(tmp);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left.front().filename(), "1795430825.M3P9.dovecot");
  EXPECT_EQ(files_in(root_ / "alice@contoso.com" / "Maildir" / "new").size(), 1u);  // delivered mail stays
}

TEST_F(DeliveryMaildir, NoMailboxesYetIsNotAProblem) {
  std::vector<std::string> problems;
  EXPECT_EQ(MaildirStore(root_).remove_interrupted_deliveries(problems), 0u);
  EXPECT_TRUE(problems.empty());
}

}  // namespace
}  // namespace transport::delivery
