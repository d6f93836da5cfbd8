// ContextCache: a pair whose files did not change keeps its context (no re-parse per admin change);
// a replaced or deleted file is read again; a pair that does not load says why.
#include "transportd/tls/context_cache.h"

#include <gtest/gtest.h>

#include <fstream>

#include "transportd/tls/server_context.h"
#include "transportd/tls/tls_credentials.h"

namespace transport::tls {
namespace {

namespace fs = std::filesystem;

class TlsContextCache : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tls_cache_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    fs::create_directory(dir_ / "a");
    fs::create_directory(dir_ / "b");
    ASSERT_TRUE(ensure_default_pair(dir_ / "a", "a.example"));
    ASSERT_TRUE(ensure_default_pair(dir_ / "b", "b.example"));
    a_ = {default_pair_paths(dir_ / "a").certificate, default_pair_paths(dir_ / "a").key};
    b_ = {default_pair_paths(dir_ / "b").certificate, default_pair_paths(dir_ / "b").key};
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  ContextCache::Pair a_, b_;
};

TEST_F(TlsContextCache, ReusesTheContextWhileTheFilesAreUnchanged) {
  ContextCache cache;
  auto first = cache.refresh({a_, b_, a_});
  ASSERT_EQ(first.size(), 2u);
  ASSERT_TRUE(first.at(a_).context);
  EXPECT_TRUE(first.at(a_).reloaded);
  auto second = cache.refresh({a_, b_});
  EXPECT_EQ(second.at(a_).context, first.at(a_).context);  // the same object: not read again
  EXPECT_EQ(second.at(b_).context, first.at(b_).context);
  EXPECT_FALSE(second.at(a_).reloaded);
}

TEST_F(TlsContextCache, ReloadsAPairWhoseFileWasReplaced) {
  ContextCache cache;
  auto first = cache.refresh({a_, b_});
  // Replace a's pair with b's files (a new inode each, as an administrator's `cp` + `mv` gives).
  fs::copy_file(b_.certificate, dir_ / "new.crt");
  fs::copy_file(b_.key, dir_ / "new.key");
  fs::rename(dir_ / "new.crt", a_.certificate);
  fs::rename(dir_ / "new.key", a_.key);
  auto second = cache.refresh({a_, b_});
  ASSERT_TRUE(second.at(a_).context);
  EXPECT_NE(second.at(a_).context, first.at(a_).context);
  EXPECT_TRUE(second.at(a_).reloaded);
  EXPECT_EQ(second.at(b_).context, first.at(b_).context);
}

TEST_F(TlsContextCache, APairThatStoppedLoadingHasNoContextAndSaysWhy) {
  ContextCache cache;
  ASSERT_TRUE(cache.refresh({a_}).at(a_).context);
  fs::remove(a_.certificate);
  auto broken = cache.refresh({a_});
  EXPECT_FALSE(broken.at(a_).context);
  EXPECT_TRUE(broken.at(a_).reloaded);
  EXPECT_NE(broken.at(a_).problem.find("TlsCertificatePath " + a_.certificate.string()), std::string::npos)
      << broken.at(a_).problem;
  // Still broken, unchanged: the same verdict without reading again (nothing new to log).
  auto again = cache.refresh({a_});
  EXPECT_FALSE(again.at(a_).context);
  EXPECT_FALSE(again.at(a_).reloaded);
  EXPECT_EQ(again.at(a_).problem, broken.at(a_).problem);
  // Corrupted in place: read again, still refused.
  std::ofstream(a_.certificate) << "not a certificate\n";
  auto corrupt = cache.refresh({a_});
  EXPECT_FALSE(corrupt.at(a_).context);
  EXPECT_TRUE(corrupt.at(a_).reloaded);
}

}  // namespace
}  // namespace transport::tls
