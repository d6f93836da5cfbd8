// RecipientIndex: the recipient filter's decision table, wildcard domains, and a 100,000-mailbox
// directory (correctness only; timing belongs to bench/).
#include "transportd/smtp/recipient_index.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/support/directory_builders.h"

namespace transport::smtp {
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
  RecipientVerdict verdict;
  const char* mailbox;  // primary address of the expected mailbox; nullptr for none
  const char* domain;   // DomainName of the matched accepted domain; nullptr for none
};

TEST(SmtpRecipientIndex, Decisions) {
  const store::Configuration config = directory();
  const RecipientIndex index(config);
  using V = RecipientVerdict;
  const Case cases[] = {
      {"alice@example.com", false, V::accepted, "alice@example.com", "example.com"},
      {"ALICE@EXAMPLE.COM", false, V::accepted, "alice@example.com", "example.com"},
      {"al@example.com", false, V::accepted, "alice@example.com", "example.com"},
      {"bob.smith@Example.Com", false, V::accepted, "Bob.Smith@example.com", "example.com"},
      {"alice@sales.example.org", false, V::accepted, "alice@example.com", "*.example.org"},
      {"carol@example.org", false, V::accepted, "carol@example.org", "*.example.org"},
      {"carol@EXAMPLE.ORG", false, V::accepted, "carol@example.org", "*.example.org"},
      {"dave@example.com", false, V::unknown_user, nullptr, "example.com"},
      {"dave@deep.sub.example.org", false, V::unknown_user, nullptr, "*.example.org"},
      {"blocked@example.com", false, V::blocked, nullptr, "example.com"},
      {"nobody@example.com", false, V::blocked, nullptr, "example.com"},
      {"x@elsewhere.example", false, V::not_accepted, nullptr, nullptr},
      {"x@example.com.evil", false, V::not_accepted, nullptr, nullptr},
      {"x@notexample.com", false, V::not_accepted, nullptr, nullptr},
      {"x@[192.0.2.1]", false, V::not_accepted, nullptr, nullptr},
      {"x@elsewhere.example", true, V::accepted, nullptr, nullptr},
      {"dave@example.com", true, V::unknown_user, nullptr, "example.com"},
      {"anyone@partner.example", false, V::accepted, nullptr, "partner.example"},
      {"spamtrap@partner.example", false, V::blocked, nullptr, "partner.example"},
      // Most specific accepted domain wins: the relay wildcard beats *.example.org, the exact name
      // beats both.
      {"anyone@relay.example.org", false, V::accepted, nullptr, "*.relay.example.org"},
      {"anyone@x.relay.example.org", false, V::accepted, nullptr, "*.relay.example.org"},
      {"anyone@exact.relay.example.org", false, V::unknown_user, nullptr, "exact.relay.example.org"},
      {"\"a@b\"@example.com", false, V::unknown_user, nullptr, "example.com"},
      {"no-at-sign", false, V::not_accepted, nullptr, nullptr},
  };
  for (const Case& c : cases) {
    const RecipientDecision d = index.check(c.address, c.may_relay);
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

TEST(SmtpRecipientIndex, BlockListDisabled) {
  store::Configuration config = directory();
  config.recipient_filter.block_list_enabled = false;
  const RecipientIndex index(config);
  const RecipientDecision d = index.check("blocked@example.com", false);
  EXPECT_EQ(d.verdict, RecipientVerdict::accepted);
  ASSERT_NE(d.mailbox, nullptr);
  EXPECT_EQ(index.check("nobody@example.com", false).verdict, RecipientVerdict::unknown_user);
}

TEST(SmtpRecipientIndex, ValidationDisabledAcceptsUnknownUsersWithoutMailbox) {
  store::Configuration config = directory();
  config.recipient_filter.recipient_validation_enabled = false;
  const RecipientIndex index(config);
  RecipientDecision d = index.check("dave@example.com", false);
  EXPECT_EQ(d.verdict, RecipientVerdict::accepted);
  EXPECT_EQ(d.mailbox, nullptr);
  d = index.check("alice@example.com", false);
  ASSERT_NE(d.mailbox, nullptr);
  EXPECT_EQ(index.check("blocked@example.com", false).verdict, RecipientVerdict::blocked);
  EXPECT_EQ(index.check("x@elsewhere.example", false).verdict, RecipientVerdict::not_accepted);
}

TEST(SmtpRecipientIndex, AcceptedDomain) {
  const store::Configuration config = directory();
  const RecipientIndex index(config);
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

TEST(SmtpRecipientIndex, HundredThousandMailboxes) {
  store::Configuration config;
  config.accepted_domains = {domain("example.com", store::DomainType::authoritative)};
  constexpr int kMailboxes = 100000;
  config.mailboxes.reserve(kMailboxes);
  for (int i = 0; i < kMailboxes; ++i) {
    config.mailboxes.push_back(
        mailbox("user" + std::to_string(i) + "@example.com", {"alias" + std::to_string(i) + "@example.com"}));
  }
  const RecipientIndex index(config);
  for (int i = 0; i < kMailboxes; i += 997) {
    const std::string n = std::to_string(i);
    RecipientDecision d = index.check("user" + n + "@example.com", false);
    ASSERT_EQ(d.verdict, RecipientVerdict::accepted) << n;
    EXPECT_EQ(d.mailbox, &config.mailboxes[static_cast<std::size_t>(i)]);
    d = index.check("ALIAS" + n + "@EXAMPLE.COM", false);
    ASSERT_EQ(d.verdict, RecipientVerdict::accepted) << n;
    EXPECT_EQ(d.mailbox, &config.mailboxes[static_cast<std::size_t>(i)]);
  }
  EXPECT_EQ(index.check("user99999@example.com", false).mailbox, &config.mailboxes.back());
  EXPECT_EQ(index.check("user100000@example.com", false).verdict, RecipientVerdict::unknown_user);
  EXPECT_EQ(index.check("user-1@example.com", false).verdict, RecipientVerdict::unknown_user);
  EXPECT_EQ(index.check("user1@example.net", false).verdict, RecipientVerdict::not_accepted);
}

}  // namespace
}  // namespace transport::smtp
