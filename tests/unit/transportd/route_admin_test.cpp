// AdminService::TestRoute called directly (no socket): what RCPT TO would answer for a recipient and the
// route behind it, from a configuration with accepted domains of each type, mailboxes, a block list,
// and send connectors of different specificity and cost; INVALID_ARGUMENT naming Recipient for a
// recipient that is not local@domain.
#include <gtest/gtest.h>

#include "tests/unit/support/admin_service_fixture.h"

namespace transport::admin {
namespace {

class RouteAdminTest : public test::AdminServiceFixture {
 protected:
  void SetUp() override {
    AdminServiceFixture::SetUp();
    auto& c = *configuration_;
    c.new_accepted_domain({{"Name", {"Example"}}, {"DomainName", {"example.com"}}, {"Default", {"true"}}});
    c.new_accepted_domain({{"Name", {"Branch"}}, {"DomainName", {"branch.example.com"}},
                           {"DomainType", {"InternalRelay"}}});
    c.new_accepted_domain({{"Name", {"Hosted"}}, {"DomainName", {"*.hosted.example"}},
                           {"DomainType", {"ExternalRelay"}}});
    c.new_accepted_domain({{"Name", {"Orphan"}}, {"DomainName", {"orphan.example"}},
                           {"DomainType", {"ExternalRelay"}}});
    c.new_mailbox({{"PrimarySmtpAddress", {"robert@example.com"}}, {"EmailAddresses", {"bob@example.com"}}},
                  std::nullopt);
    c.new_mailbox({{"PrimarySmtpAddress", {"postmaster@example.com"}}}, std::nullopt);
    // "*" twice: the cheaper one wins; *.hosted.example is more specific than "*" whatever its cost;
    // branch.example.com goes through the smart host connector; orphan.example has no route.
    c.new_send_connector({{"Name", {"Internet"}}, {"AddressSpaces", {"*;5"}}}, std::nullopt);
    c.new_send_connector({{"Name", {"Cheap"}}, {"AddressSpaces", {"*;1"}},
                          {"SmartHosts", {"smart1.example.net", "192.0.2.25:587"}},
                          {"DNSRoutingEnabled", {"false"}}},
                         std::nullopt);
    c.new_send_connector({{"Name", {"Hosting"}}, {"AddressSpaces", {"*.hosted.example;50"}}}, std::nullopt);
    c.new_send_connector({{"Name", {"Nowhere"}}, {"AddressSpaces", {"other.example"}}, {"Enabled", {"false"}}},
                         std::nullopt);
    c.set_recipient_filter({{"BlockListEnabled", {"true"}}, {"BlockedRecipients", {"blocked@example.com"}}});
  }

  v1::TestRouteResponse route(const std::string& recipient, bool authenticated = false) {
    v1::TestRouteRequest request;
    request.set_recipient(recipient);
    request.set_authenticated(authenticated);
    v1::TestRouteResponse response;
    const grpc::Status status = service_->TestRoute(nullptr, &request, &response);
    EXPECT_TRUE(status.ok()) << recipient << ": " << status.error_message();
    return response;
  }

  grpc::Status refusal(const std::string& recipient) {
    v1::TestRouteRequest request;
    request.set_recipient(recipient);
    v1::TestRouteResponse response;
    return service_->TestRoute(nullptr, &request, &response);
  }

};

TEST_F(RouteAdminTest, AnAliasOfAMailboxIsDeliveredLocallyToItsPrimaryAddress) {
  const auto r = route("Bob@EXAMPLE.com");
  EXPECT_EQ(r.recipient(), "Bob@example.com");
  EXPECT_EQ(r.result(), "Local");
  EXPECT_EQ(r.reply(), "250 2.1.5");
  EXPECT_EQ(r.mailbox(), "robert@example.com");
  EXPECT_EQ(r.accepted_domain(), "Example");
  EXPECT_EQ(r.delivery_type(), "MailboxDelivery");
  EXPECT_EQ(r.send_connector(), "");
  EXPECT_EQ(r.next_hop(), "");
  EXPECT_NE(r.reason().find("robert@example.com"), std::string::npos) << r.reason();
}

TEST_F(RouteAdminTest, UnknownAndBlockedRecipientsOfAnAuthoritativeDomainAreRefusedWith511) {
  const auto unknown = route("nobody@example.com", true);
  EXPECT_EQ(unknown.result(), "Refused");
  EXPECT_EQ(unknown.reply(), "550 5.1.1");
  EXPECT_EQ(unknown.accepted_domain(), "Example");
  EXPECT_EQ(unknown.mailbox(), "");
  const auto blocked = route("blocked@example.com");
  EXPECT_EQ(blocked.result(), "Refused");
  EXPECT_EQ(blocked.reply(), "550 5.1.1");
  EXPECT_NE(blocked.reason().find("block list"), std::string::npos) << blocked.reason();
}

TEST_F(RouteAdminTest, AnonymousSessionsMayNotRelayToOtherDomains) {
  const auto r = route("someone@elsewhere.example");
  EXPECT_EQ(r.result(), "Refused");
  EXPECT_EQ(r.reply(), "550 5.7.1");
  EXPECT_EQ(r.send_connector(), "");
  EXPECT_EQ(r.accepted_domain(), "");
}

TEST_F(RouteAdminTest, ARelayingSessionGoesThroughTheCheapestOfEquallySpecificConnectors) {
  const auto r = route("someone@elsewhere.example", true);
  EXPECT_EQ(r.result(), "Relay");
  EXPECT_EQ(r.reply(), "250 2.1.5");
  EXPECT_EQ(r.send_connector(), "Cheap");
  EXPECT_EQ(r.address_space(), "SMTP:*;1");
  EXPECT_EQ(r.delivery_type(), "SmartHostConnectorDelivery");
  EXPECT_EQ(r.next_hop(), "smart1.example.net, 192.0.2.25:587");
  EXPECT_EQ(r.accepted_domain(), "");
  EXPECT_NE(r.reason().find("Cheap"), std::string::npos) << r.reason();
}

TEST_F(RouteAdminTest, RelayDomainsAreRelayedForAnonymousSessionsThroughTheMostSpecificConnector) {
  const auto hosted = route("user@shop.hosted.example");
  EXPECT_EQ(hosted.result(), "Relay");
  EXPECT_EQ(hosted.accepted_domain(), "Hosted");
  EXPECT_EQ(hosted.send_connector(), "Hosting");  // more specific than "*", though it costs 50
  EXPECT_EQ(hosted.address_space(), "SMTP:*.hosted.example;50");
  EXPECT_EQ(hosted.delivery_type(), "DnsConnectorDelivery");
  EXPECT_EQ(hosted.next_hop(), "shop.hosted.example");

  const auto branch = route("user@branch.example.com");
  EXPECT_EQ(branch.result(), "Relay");
  EXPECT_EQ(branch.accepted_domain(), "Branch");
  EXPECT_EQ(branch.send_connector(), "Cheap");
}

TEST_F(RouteAdminTest, ARelayDomainNoEnabledConnectorServesIsRefusedWith544) {
  configuration_->set_send_connectors({"Cheap"}, {{"AddressSpaces", {"branch.example.com"}}}, std::nullopt);
  configuration_->set_send_connectors({"Internet"}, {{"Enabled", {"false"}}}, std::nullopt);
  const auto r = route("user@orphan.example");
  EXPECT_EQ(r.result(), "Refused");
  EXPECT_EQ(r.reply(), "550 5.4.4");
  EXPECT_EQ(r.accepted_domain(), "Orphan");
  const auto other = route("user@other.example", true);  // only the disabled Nowhere matches it
  EXPECT_EQ(other.reply(), "550 5.4.4");
  EXPECT_EQ(other.send_connector(), "");
}

TEST_F(RouteAdminTest, ABarePostmasterGoesToTheServersPostmaster) {
  const auto r = route("Postmaster");
  EXPECT_EQ(r.result(), "Local");
  EXPECT_EQ(r.mailbox(), "postmaster@example.com");
  EXPECT_EQ(r.recipient(), "Postmaster");
}

TEST_F(RouteAdminTest, ARecipientThatIsNotAnAddressIsInvalidArgumentNamingRecipient) {
  for (const std::string bad : {"", "nobody", "a@", "@example.com", "a b@example.com", "a@exa mple.com"}) {
    const grpc::Status status = refusal(bad);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_EQ(status.error_message().rfind("Recipient: ", 0), 0u) << status.error_message();
  }
}

}  // namespace
}  // namespace transport::admin
