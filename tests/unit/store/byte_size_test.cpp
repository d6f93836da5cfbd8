// ByteSize (DESIGN §3): units and letter case, canonical output in the largest exact unit, refusals.
#include "store/byte_size.h"

#include <gtest/gtest.h>

#include "store/value_error.h"

namespace transport::store {
namespace {

struct Valid {
  const char* text;
  std::uint64_t bytes;
  const char* canonical;
};

TEST(ByteSize, ParsesUnitsInAnyCase) {
  const Valid cases[] = {
      {"10MB", 10ULL << 20, "10MB"},
      {"10mb", 10ULL << 20, "10MB"},
      {"10 Mb", 10ULL << 20, "10MB"},
      {"512KB", 512ULL << 10, "512KB"},
      {"512 kb", 512ULL << 10, "512KB"},
      {"2GB", 2ULL << 30, "2GB"},
      {"2gb", 2ULL << 30, "2GB"},
      {"65536", 65536, "64KB"},
      {"1000", 1000, "1000"},
      {"1000B", 1000, "1000"},
      {"1000 b", 1000, "1000"},
      {"1024KB", 1ULL << 20, "1MB"},
      {"1536KB", 1536ULL << 10, "1536KB"},
      {"0", 0, "0"},
      {"0MB", 0, "0"},
      {" 10MB ", 10ULL << 20, "10MB"},
      {"17179869183GB", 17179869183ULL << 30, "17179869183GB"},  // 2^64 - 2^30: the largest GB count
  };
  for (const Valid& c : cases) {
    SCOPED_TRACE(c.text);
    ByteSize size = ByteSize::parse(c.text);
    EXPECT_EQ(size.bytes(), c.bytes);
    EXPECT_EQ(size.to_string(), c.canonical);
    EXPECT_EQ(ByteSize::parse(size.to_string()), size);
  }
}

TEST(ByteSize, FormatsInTheLargestExactUnit) {
  EXPECT_EQ(ByteSize::megabytes(10).to_string(), "10MB");
  EXPECT_EQ(ByteSize::kilobytes(64).to_string(), "64KB");
  EXPECT_EQ(ByteSize::gigabytes(2).to_string(), "2GB");
  EXPECT_EQ(ByteSize(1000).to_string(), "1000");
  EXPECT_EQ(ByteSize(1025).to_string(), "1025");
  EXPECT_EQ(ByteSize::kilobytes(1025).to_string(), "1025KB");
}

struct Invalid {
  const char* text;
  const char* fragment;
};

TEST(ByteSize, Refuses) {
  const Invalid cases[] = {
      {"unlimited", "is not allowed here"},
      {"Unlimited", "is not allowed here"},
      {"", "it is empty"},
      {"MB", "does not start with a number"},
      {"-1MB", "negative sizes are not allowed"},
      {"+1MB", "no sign"},
      {"10TB", "unknown unit \"TB\""},
      {"10 MiB", "unknown unit \"MiB\""},
      {"10  MB", "unknown unit"},
      {"10M", "unknown unit \"M\""},
      {"1.5MB", "fractions are not allowed; did you mean 1536KB?"},
      {"0.5KB", "did you mean 512?"},
      {"1.5B", "fractions are not allowed"},
      {"1.2.3MB", "fractions are not allowed"},
      {"18446744073709551616", "too large"},
      {"17179869184GB", "too large"},
      {"99999999999999999999999KB", "too large"},
  };
  for (const Invalid& c : cases) {
    SCOPED_TRACE(c.text);
    try {
      ByteSize::parse(c.text);
      ADD_FAILURE() << "accepted";
    } catch (const ValueError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(c.fragment), std::string::npos) << message;
      EXPECT_EQ(message.rfind(std::string("\"") + c.text + "\"", 0), 0u) << message;
    }
  }
}

TEST(ByteSize, OrdersByBytes) {
  EXPECT_LT(ByteSize::parse("64KB"), ByteSize::parse("10MB"));
  EXPECT_EQ(ByteSize::parse("1024KB"), ByteSize::parse("1MB"));
}

}  // namespace
}  // namespace transport::store
