// RecipientRouter: the recipient check's decision table, wildcard domains, send connector choice, and
// a 100,000-mailbox directory (correctness only; timing belongs to bench/).
#include "transportd/routing/recipient_router.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/support/directory_builders.h"

namespace transport::routing {
namespace {

using test::mailbox;

store::AcceptedDomain domain(std::string name, store::DomainType type) {
  return test::accepted_domain(std::move(name), type);
}

store::Configuration directory() {
  store::Configuration config;
  config.accepted_domains = {
      domain("example.com", store::DomainType::authoritative),
      domain("*.example.org", store::DomainType::authoritative),
      domain("*.relay.example.org", store::DomainType::internal_relay),
      domain("exact.relay.example.org", store::DomainType::authoritative),
      domain("partner.example", store::DomainType::external_relay),
  };
  config.mailboxes = {
      mailbox("alice@example.com", {"Al@example.com", "alice@sales.example.org"}),
      mailbox("Bob.Smith@example.com"),
      mailbox("carol@example.org"),
      mailbox("blocked@example.com"),
  };
  config.recipient_filter.block_list_enabled = true;
  config.recipient_filter.blocked_recipients = {"blocked@example.com", "spamtrap@partner.example",
                                                "Nobody@Example.com"};
  return config;
}

struct Case {
  const char* address;
  bool may_relay;
  Verdict verdict;
  const char* mailbox;  // primary address of the expected mailbox; nullptr for none
  const char* domain;   // DomainName of the matched accepted domain; nullptr for none
};

TEST(RecipientRouter, Decisions) {
  const store::Configuration config = directory();
  const RecipientRouter index(config);
  using V = Verdict;
  const Case cases[] = {
      {"alice@example.com", false, V::local, "alice@example.com", "example.com"},
      {"ALICE@EXAMPLE.COM", false, V::local, "alice@example.com", "example.com"},
      {"al@example.com", false, V::local, "alice@example.com", "example.com"},
      {"bob.smith@Example.Com", false, V::local, "Bob.Smith@example.com", "example.com"},
      {"alice@sales.example.org", false, V::local, "alice@example.com", "*.example.org"},
      {"carol@example.org", false, V::local, "carol@example.org", "*.example.org"},
      {"carol@EXAMPLE.ORG", false, V::local, "carol@example.org", "*.example.org"},
      {"dave@example.com", false, V::unknown_user, nullptr, "example.com"},
      {"dave@deep.sub.example.org", false, V::unknown_user, nullptr, "*.example.org"},
      {"blocked@example.com", false, V::blocked, nullptr, "example.com"},
      {"nobody@example.com", false, V::blocked, nullptr, "example.com"},
      {"x@elsewhere.example", false, V::not_accepted, nullptr, nullptr},
      {"x@example.com.evil", false, V::not_accepted, nullptr, nullptr},
      {"x@notexample.com", false, V::not_accepted, nullptr, nullptr},
      {"x@[192.0.2.1]", false, V::not_accepted, nullptr, nullptr},
      // A session that may relay, to a domain no send connector serves (there are none yet).
      {"x@elsewhere.example", true, V::no_route, nullptr, nullptr},
      {"dave@example.com", true, V::unknown_user, nullptr, "example.com"},
      {"anyone@partner.example", false, V::no_route, nullptr, "partner.example"},
      {"spamtrap@partner.example", false, V::blocked, nullptr, "partner.example"},
      // Most specific accepted domain wins: the relay wildcard beats *.example.org, the exact name
      // beats both.
      {"anyone@relay.example.org", false, V::no_route, nullptr, "*.relay.example.org"},
      {"anyone@x.relay.example.org", false, V::no_route, nullptr, "*.relay.example.org"},
      {"anyone@exact.relay.example.org", false, V::unknown_user, nullptr, "exact.relay.example.org"},
      {"\"a@b\"@example.com", false, V::unknown_user, nullptr, "example.com"},
      {"no-at-sign", false, V::not_accepted, nullptr, nullptr},
  };
  for (const Case& c : cases) {
    const Decision d = index.check(c.address, c.may_relay);
    EXPECT_EQ(d.verdict, c.verdict) << c.address;
    if (c.mailbox == nullptr) {
      EXPECT_EQ(d.mailbox, nullptr) << c.address;
    } else {
      ASSERT_NE(d.mailbox, nullptr) << c.address;
      EXPECT_EQ(d.mailbox->primary_smtp_address, c.mailbox) << c.address;
    }
    if (c.domain == nullptr) {
      EXPECT_EQ(d.domain, nullptr) << c.address;
    } else {
      ASSERT_NE(d.domain, nullptr) << c.address;
      EXPECT_EQ(d.domain->domain_name, c.domain) << c.address;
    }
  }
}

TEST(RecipientRouter, BlockListDisabled) {
  store::Configuration config = directory();
  config.recipient_filter.block_list_enabled = false;
  const RecipientRouter index(config);
  const Decision d = index.check("blocked@example.com", false);
  EXPECT_EQ(d.verdict, Verdict::local);
  ASSERT_NE(d.mailbox, nullptr);
  EXPECT_EQ(index.check("nobody@example.com", false).verdict, Verdict::unknown_user);
}

// Validation off: an unknown user is accepted, and the sender gets a non-delivery report (DESIGN §5).
TEST(RecipientRouter, ValidationDisabledAcceptsUnknownUsersForANonDeliveryReport) {
  store::Configuration config = directory();
  config.recipient_filter.recipient_validation_enabled = false;
  const RecipientRouter index(config);
  Decision d = index.check("dave@example.com", false);
  EXPECT_EQ(d.verdict, Verdict::non_delivery);
  EXPECT_TRUE(accepted(d.verdict));
  EXPECT_EQ(d.mailbox, nullptr);
  d = index.check("alice@example.com", false);
  ASSERT_NE(d.mailbox, nullptr);
  EXPECT_EQ(index.check("blocked@example.com", false).verdict, Verdict::blocked);
  EXPECT_EQ(index.check("x@elsewhere.example", false).verdict, Verdict::not_accepted);
}

TEST(RecipientRouter, AcceptedDomain) {
  const store::Configuration config = directory();
  const RecipientRouter index(config);
  struct DomainCase {
    const char* domain;
    const char* accepted;
  };
  const DomainCase cases[] = {
      {"example.com", "example.com"},     {"EXAMPLE.com", "example.com"},
      {"sub.example.com", nullptr},       {"example.org", "*.example.org"},
      {"a.b.example.org", "*.example.org"}, {"relay.example.org", "*.relay.example.org"},
      {"exact.relay.example.org", "exact.relay.example.org"}, {"xexample.org", nullptr},
      {"", nullptr},
  };
  for (const DomainCase& c : cases) {
    const store::AcceptedDomain* d = index.accepted_domain(c.domain);
    if (c.accepted == nullptr) {
      EXPECT_EQ(d, nullptr) << c.domain;
    } else {
      ASSERT_NE(d, nullptr) << c.domain;
      EXPECT_EQ(d->domain_name, c.accepted) << c.domain;
    }
  }
}

// The server's postmaster: postmaster@ the Default domain, else the first Authoritative domain by
// name that has one, else a non-delivery report; postmaster@ any Authoritative domain is always accepted.
TEST(RecipientRouter, Postmaster) {
  const auto postmaster_of = [](const RecipientRouter& index) {
    const Decision d = index.postmaster();
    EXPECT_EQ(d.verdict, d.mailbox == nullptr ? Verdict::non_delivery : Verdict::local);
    return d.mailbox == nullptr ? std::string("(none)") : d.mailbox->primary_smtp_address;
  };
  store::Configuration config;
  config.accepted_domains = {domain("zeta.example", store::DomainType::authoritative),
                             domain("alpha.example", store::DomainType::authoritative),
                             domain("relay.example", store::DomainType::internal_relay),
                             domain("*.wild.example", store::DomainType::authoritative)};
  config.mailboxes = {mailbox("admin@zeta.example", {"PostMaster@zeta.example"}),
                      mailbox("root@alpha.example", {"postmaster@alpha.example"}),
                      mailbox("postmaster@relay.example")};
  {
    // No Default domain: alpha.example comes first by name.
    const RecipientRouter index(config);
    EXPECT_EQ(postmaster_of(index), "root@alpha.example");
  }
  config.accepted_domains[0].is_default = true;
  {
    // zeta.example is the Default domain: its alias wins.
    const RecipientRouter index(config);
    EXPECT_EQ(postmaster_of(index), "admin@zeta.example");
  }
  config.mailboxes.erase(config.mailboxes.begin());
  config.accepted_domains.push_back(domain("gamma.example", store::DomainType::authoritative));
  {
    // The Default domain has none: the next Authoritative domain by name that has one. A relay
    // domain's mailbox is never the server's postmaster.
    const RecipientRouter index(config);
    EXPECT_EQ(postmaster_of(index), "root@alpha.example");
    // postmaster@ an Authoritative domain without its own mailbox reaches the server's postmaster,
    // in any letter case, even with validation on.
    for (const char* address : {"postmaster@zeta.example", "POSTMASTER@Gamma.Example", "postmaster@x.wild.example"}) {
      const Decision d = index.check(address, false);
      EXPECT_EQ(d.verdict, Verdict::local) << address;
      ASSERT_NE(d.mailbox, nullptr) << address;
      EXPECT_EQ(d.mailbox->primary_smtp_address, "root@alpha.example") << address;
    }
    EXPECT_EQ(index.check("postmasters@zeta.example", false).verdict, Verdict::unknown_user);
    EXPECT_EQ(index.check("postmaster@elsewhere.example", false).verdict, Verdict::not_accepted);
  }
  config.mailboxes.clear();
  {
    // Nobody is postmaster: still accepted (RFC 5321 §4.5.1), and the sender is told by a report.
    const RecipientRouter index(config);
    EXPECT_EQ(postmaster_of(index), "(none)");
    const Decision d = index.check("postmaster@alpha.example", false);
    EXPECT_EQ(d.verdict, Verdict::non_delivery);
    EXPECT_EQ(d.mailbox, nullptr);
  }
  // A blocked postmaster@ address stays blocked: the administrator said so.
  config.recipient_filter.block_list_enabled = true;
  config.recipient_filter.blocked_recipients = {"postmaster@alpha.example"};
  const RecipientRouter blocked(config);
  EXPECT_EQ(blocked.check("postmaster@alpha.example", false).verdict, Verdict::blocked);
}

// UTF-8 addresses match as the directory stores them: ASCII letters in any case, other characters
// exactly (no Unicode case folding or normalization).
TEST(RecipientRouter, Utf8AddressesMatchTheStoredForm) {
  store::Configuration config;
  config.accepted_domains = {domain("example.com", store::DomainType::authoritative)};
  config.mailboxes = {mailbox("J\xc3\xb6rg@example.com", {"\xe7\x94\xa8\xe6\x88\xb7@example.com"})};
  const RecipientRouter index(config);
  for (const char* address : {"J\xc3\xb6rg@example.com", "j\xc3\xb6RG@EXAMPLE.COM", "\xe7\x94\xa8\xe6\x88\xb7@Example.com"}) {
    const Decision d = index.check(address, false);
    EXPECT_EQ(d.verdict, Verdict::local) << address;
    EXPECT_EQ(d.mailbox, &config.mailboxes[0]) << address;
  }
  // Ö is not folded to ö, and a decomposed ö (o + U+0308) is another address.
  EXPECT_EQ(index.check("J\xc3\x96rg@example.com", false).verdict, Verdict::unknown_user);
  EXPECT_EQ(index.check("Jo\xcc\x88rg@example.com", false).verdict, Verdict::unknown_user);
  EXPECT_EQ(index.find_mailbox("j\xc3\xb6rg@example.com"), &config.mailboxes[0]);
}

TEST(RecipientRouter, HundredThousandMailboxes) {
  store::Configuration config;
  config.accepted_domains = {domain("example.com", store::DomainType::authoritative)};
  constexpr int kMailboxes = 100000;
  config.mailboxes.reserve(kMailboxes);
  for (int i = 0; i < kMailboxes; ++i) {
    config.mailboxes.push_back(
        mailbox("user" + std::to_string(i) + "@example.com", {"alias" + std::to_string(i) + "@example.com"}));
  }
  const RecipientRouter index(config);
  for (int i = 0; i < kMailboxes; i += 997) {
    const std::string n = std::to_string(i);
    Decision d = index.check("user" + n + "@example.com", false);
    ASSERT_EQ(d.verdict, Verdict::local) << n;
    EXPECT_EQ(d.mailbox, &config.mailboxes[static_cast<std::size_t>(i)]);
    d = index.check("ALIAS" + n + "@EXAMPLE.COM", false);
    ASSERT_EQ(d.verdict, Verdict::local) << n;
    EXPECT_EQ(d.mailbox, &config.mailboxes[static_cast<std::size_t>(i)]);
  }
  EXPECT_EQ(index.check("user99999@example.com", false).mailbox, &config.mailboxes.back());
  EXPECT_EQ(index.check("user100000@example.com", false).verdict, Verdict::unknown_user);
  EXPECT_EQ(index.check("user-1@example.com", false).verdict, Verdict::unknown_user);
  EXPECT_EQ(index.check("user1@example.net", false).verdict, Verdict::not_accepted);
}

}  // namespace

store::SendConnector send_connector(std::string name, std::vector<std::string> spaces) {
  store::SendConnector c;
  c.name = std::move(name);
  for (const std::string& space : spaces) c.address_spaces.push_back(store::AddressSpace::parse(space));
  c.smart_hosts = {store::SmartHost::parse("smarthost.example.net")};
  c.dns_routing_enabled = false;
  return c;
}

// Who may relay and through which send connector (DESIGN §5, §11): relay-type accepted domains for
// everyone, other domains only for sessions that may relay; the most specific AddressSpace wins, then
// the lowest cost, then the name; disabled connectors route nothing.
TEST(RecipientRouter, SendConnectorChoice) {
  store::Configuration config = directory();
  config.send_connectors = {
      send_connector("Internet", {"*;10"}),
      send_connector("Internet backup", {"SMTP:*;20"}),
      send_connector("Partner", {"partner.example;1"}),
      send_connector("Relay wildcard", {"*.relay.example.org;5"}),
      send_connector("Relay cheap", {"*.relay.example.org;2"}),
      send_connector("Disabled", {"elsewhere.example;1"}),
      send_connector("Beta", {"tie.example;3"}),
      send_connector("Alpha", {"tie.example;3"}),
  };
  config.send_connectors[5].enabled = false;
  const RecipientRouter router(config);
  struct RouteCase {
    const char* address;
    bool may_relay;
    Verdict verdict;
    const char* connector;  // nullptr: none
    const char* space;      // the AddressSpace that matched
  };
  const RouteCase cases[] = {
      // Relay-type accepted domains are routed for anyone.
      {"anyone@partner.example", false, Verdict::relay, "Partner", "SMTP:partner.example;1"},
      {"anyone@relay.example.org", false, Verdict::relay, "Relay cheap", "SMTP:*.relay.example.org;2"},
      {"anyone@x.relay.example.org", false, Verdict::relay, "Relay cheap", "SMTP:*.relay.example.org;2"},
      // Other domains only for sessions that may relay; "*" is the least specific.
      {"x@elsewhere.example", false, Verdict::not_accepted, nullptr, nullptr},
      {"x@elsewhere.example", true, Verdict::relay, "Internet", "SMTP:*;10"},
      {"x@tie.example", true, Verdict::relay, "Alpha", "SMTP:tie.example;3"},
      {"x@sub.partner.example", true, Verdict::relay, "Internet", "SMTP:*;10"},
      // Local domains never leave the server, whatever the connectors say.
      {"alice@example.com", true, Verdict::local, nullptr, nullptr},
      {"dave@example.com", true, Verdict::unknown_user, nullptr, nullptr},
      {"spamtrap@partner.example", false, Verdict::blocked, nullptr, nullptr},
  };
  for (const RouteCase& c : cases) {
    const Decision d = router.check(c.address, c.may_relay);
    EXPECT_EQ(d.verdict, c.verdict) << c.address;
    if (c.connector == nullptr) {
      EXPECT_EQ(d.connector, nullptr) << c.address;
      continue;
    }
    ASSERT_NE(d.connector, nullptr) << c.address;
    EXPECT_EQ(d.connector->name, c.connector) << c.address;
    EXPECT_EQ(d.address_space->to_string(), c.space) << c.address;
    EXPECT_NE(explain(d, c.address, c.may_relay).find(c.connector), std::string::npos);
  }
  // Without the "*" connectors, a foreign domain has no route even for a session that may relay.
  config.send_connectors.erase(config.send_connectors.begin(), config.send_connectors.begin() + 2);
  const RecipientRouter narrower(config);
  EXPECT_EQ(narrower.check("x@elsewhere.example", true).verdict, Verdict::no_route);
  EXPECT_NE(explain(narrower.check("x@elsewhere.example", true), "x@elsewhere.example", true).find("550 5.4.4"),
            std::string::npos);
}

}  // namespace transport::routing
