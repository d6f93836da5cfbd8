// The default Fqdn: the system's fully qualified name when it has one (DESIGN §3), else its short name.
#include "transportd/host_names.h"

#include <gtest/gtest.h>

#include "store/text_util.h"

namespace transport {
namespace {

TEST(HostNames, TheCanonicalNameIsTakenWhenItQualifiesTheHostName) {
  EXPECT_EQ(choose_fqdn("MAIL01", "mail01.Example.COM"), "mail01.example.com");
  EXPECT_EQ(choose_fqdn("mail01.example.com", ""), "mail01.example.com");  // gethostname() gave it already
  EXPECT_EQ(choose_fqdn("mail01.example.com", "other.example.com"), "mail01.example.com");
}

TEST(HostNames, TheShortNameStandsWhenThereIsNoQualifiedOne) {
  EXPECT_EQ(choose_fqdn("MAIL01", ""), "mail01");                       // the lookup failed
  EXPECT_EQ(choose_fqdn("MAIL01", "MAIL01"), "mail01");                 // no domain
  EXPECT_EQ(choose_fqdn("vm", "localhost.localdomain"), "vm");          // an alias line of /etc/hosts
  EXPECT_EQ(choose_fqdn("mail01", "mail01.bad_label.example"), "mail01");  // not a host name
}

TEST(HostNames, TheSystemsNamesAreConsistent) {
  const HostNames names = system_host_names();
  ASSERT_FALSE(names.short_name.empty());
  EXPECT_EQ(names.short_name.find('.'), std::string::npos);
  EXPECT_TRUE(names.fqdn.starts_with(store::to_lower(names.short_name))) << names.fqdn;
}

}  // namespace
}  // namespace transport
