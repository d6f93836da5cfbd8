// Identity patterns: globs, letter case, and the optional HOST\ prefix.
#include "transportd/config/identity_match.h"

#include <gtest/gtest.h>

#include "store/text_util.h"

namespace transport::config {
namespace {

struct Case {
  const char* pattern;
  const char* name;
  bool matches;
};

TEST(IdentityMatch, Table) {
  const Case cases[] = {
      {"Default MAIL01", "Default MAIL01", true},
      {"default mail01", "Default MAIL01", true},
      {"MAIL01\\Default MAIL01", "Default MAIL01", true},
      {"mail01\\default*", "Default MAIL01", true},
      {"OTHER\\Default MAIL01", "Default MAIL01", false},
      {"*", "anything", true},
      {"*\\*", "anything", true},
      {"Default*", "Default MAIL01", true},
      {"*MAIL0?", "Default MAIL01", true},
      {"Default", "Default MAIL01", false},
      {"Partner ?", "Partner AB", false},
      {"a*b*c", "aXXbYYc", true},
      {"a*b*c", "aXXbYY", false},
      {"", "", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(identity_matches(c.pattern, "MAIL01", c.name), c.matches) << c.pattern << " vs " << c.name;
  }
}

TEST(IdentityMatch, PathologicalPatternStaysFast) {
  std::string text(5000, 'a');
  EXPECT_FALSE(store::glob_match("*a*a*a*a*a*a*a*a*b", text));
}

}  // namespace
}  // namespace transport::config
