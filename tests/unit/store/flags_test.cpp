// PermissionGroups and AuthMechanism: names in any case, comma-separated items, None, the AuthMechanism
// combination rules, and Exchange's spelling and order on output.
#include "store/flags.h"

#include <gtest/gtest.h>

#include "store/value_error.h"

namespace transport::store {
namespace {

using Names = std::vector<std::string>;

struct PermissionCase {
  Names input;
  Names shown;
};

TEST(PermissionGroups, ParsesNamesInAnyCaseAndShowsThemInOrder) {
  const PermissionCase cases[] = {
      {{"AnonymousUsers", "ExchangeUsers"}, {"AnonymousUsers", "ExchangeUsers"}},
      {{"exchangeusers", "ANONYMOUSUSERS"}, {"AnonymousUsers", "ExchangeUsers"}},
      {{"AnonymousUsers,ExchangeUsers"}, {"AnonymousUsers", "ExchangeUsers"}},
      {{" partners , exchangeservers "}, {"ExchangeServers", "Partners"}},
      {{"Partners", "Partners,partners"}, {"Partners"}},
      {{"Partners,,", ""}, {"Partners"}},
      {{"None"}, {"None"}},
      {{"none", "NONE"}, {"None"}},
      {{"AnonymousUsers,ExchangeUsers,ExchangeServers,Partners"},
       {"AnonymousUsers", "ExchangeUsers", "ExchangeServers", "Partners"}},
  };
  for (const PermissionCase& c : cases) {
    SCOPED_TRACE(c.input.empty() ? "" : c.input.front());
    PermissionGroups groups = parse_permission_groups(c.input);
    EXPECT_EQ(to_strings(groups), c.shown);
    EXPECT_EQ(parse_permission_groups(to_strings(groups)), groups);
  }
  EXPECT_TRUE(parse_permission_groups({"None"}).empty());
  EXPECT_TRUE(parse_permission_groups({"Partners"}).has(PermissionGroup::partners));
  EXPECT_EQ(to_strings(PermissionGroups{}), Names{"None"});
}

struct AuthCase {
  Names input;
  Names shown;
};

TEST(AuthMechanism, ParsesAllowedCombinations) {
  const AuthCase cases[] = {
      {{"Tls,BasicAuth,BasicAuthRequireTLS"}, {"Tls", "BasicAuth", "BasicAuthRequireTLS"}},
      {{"basicauthrequiretls", "basicauth", "TLS"}, {"Tls", "BasicAuth", "BasicAuthRequireTLS"}},
      {{"Tls"}, {"Tls"}},
      {{"BasicAuth"}, {"BasicAuth"}},
      {{"Tls", "BasicAuth"}, {"Tls", "BasicAuth"}},
      {{"ExternalAuthoritative"}, {"ExternalAuthoritative"}},
      {{"externalauthoritative, tls"}, {"Tls", "ExternalAuthoritative"}},
      {{"None"}, {"None"}},
  };
  for (const AuthCase& c : cases) {
    SCOPED_TRACE(c.input.front());
    AuthMechanism mechanism = parse_auth_mechanism(c.input);
    EXPECT_EQ(to_strings(mechanism), c.shown);
    EXPECT_EQ(parse_auth_mechanism(to_strings(mechanism)), mechanism);
  }
  AuthMechanism m = parse_auth_mechanism({"Tls,BasicAuth"});
  EXPECT_TRUE(m.has(AuthMechanismFlag::tls));
  EXPECT_TRUE(m.has(AuthMechanismFlag::basic_auth));
  EXPECT_FALSE(m.has(AuthMechanismFlag::basic_auth_require_tls));
}

struct Invalid {
  Names input;
  const char* quoted;  // the start of the message
  const char* fragment;
};

void expect_refused(const Invalid& c, bool auth) {
  SCOPED_TRACE(c.input.empty() ? "(no items)" : c.input.front());
  try {
    if (auth) {
      parse_auth_mechanism(c.input);
    } else {
      parse_permission_groups(c.input);
    }
    ADD_FAILURE() << "accepted";
  } catch (const ValueError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(c.quoted, 0), 0u) << message;
    EXPECT_NE(message.find(c.fragment), std::string::npos) << message;
  }
}

TEST(PermissionGroups, Refuses) {
  const Invalid cases[] = {
      {{}, "\"\"", "use None for no permission groups"},
      {{""}, "\"\"", "use None for no permission groups"},
      {{" , ,"}, "\" , ,\"", "use None for no permission groups"},
      {{"Anonymous"}, "\"Anonymous\"", "the names are None, AnonymousUsers, ExchangeUsers, ExchangeServers, Partners"},
      {{"Partners,Admins"}, "\"Admins\"", "is not a known permission group"},
      {{"None", "Partners"}, "\"None,Partners\"", "None must stand alone"},
      {{"Partners,none"}, "\"Partners,none\"", "None must stand alone"},
  };
  for (const Invalid& c : cases) expect_refused(c, false);
}

TEST(AuthMechanism, RefusesUnknownNamesAndForbiddenCombinations) {
  const Invalid cases[] = {
      {{}, "\"\"", "use None for no auth mechanisms"},
      {{"Kerberos"}, "\"Kerberos\"", "the names are None, Tls, BasicAuth, BasicAuthRequireTLS, ExternalAuthoritative"},
      {{"None,Tls"}, "\"None,Tls\"", "None must stand alone"},
      {{"BasicAuthRequireTLS"}, "\"BasicAuthRequireTLS\"", "needs BasicAuth and Tls; add BasicAuth and Tls"},
      {{"Tls,BasicAuthRequireTLS"}, "\"Tls,BasicAuthRequireTLS\"", "needs BasicAuth and Tls; add BasicAuth"},
      {{"BasicAuth", "BasicAuthRequireTLS"}, "\"BasicAuth,BasicAuthRequireTLS\"", "add Tls"},
      {{"ExternalAuthoritative,BasicAuth"}, "\"ExternalAuthoritative,BasicAuth\"", "alone or with Tls only"},
      {{"ExternalAuthoritative,Tls,BasicAuth,BasicAuthRequireTLS"}, "\"ExternalAuthoritative,Tls", "with Tls only"},
      {{"ExternalAuthoritative", "BasicAuthRequireTLS"}, "\"ExternalAuthoritative,BasicAuthRequireTLS\"",
       "remove the BasicAuth mechanisms or ExternalAuthoritative"},
  };
  for (const Invalid& c : cases) expect_refused(c, true);
}

}  // namespace
}  // namespace transport::store
