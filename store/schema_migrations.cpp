// Schema history. Property columns are named by their Exchange names and hold the canonical text the
// property tables render (lists comma-separated), so the file reads plainly in the sqlite3 shell.
#include "store/schema_migrations.h"

namespace transport::store {

namespace {

constexpr std::string_view kMigrations[] = {
    // 1: the configuration model of DESIGN §3.
    R"sql(
CREATE TABLE transport_server (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  HostName TEXT NOT NULL
);
CREATE TABLE receive_connectors (
  id INTEGER PRIMARY KEY,
  Name TEXT NOT NULL UNIQUE COLLATE NOCASE,
  Bindings TEXT NOT NULL,
  RemoteIPRanges TEXT NOT NULL,
  TarpitInterval TEXT NOT NULL,
  Enabled TEXT NOT NULL,
  Fqdn TEXT NOT NULL,
  Banner TEXT NOT NULL,
  MaxMessageSize TEXT NOT NULL,
  MaxHeaderSize TEXT NOT NULL,
  MaxRecipientsPerMessage TEXT NOT NULL,
  MaxInboundConnection TEXT NOT NULL,
  MaxInboundConnectionPerSource TEXT NOT NULL,
  MaxInboundConnectionPercentagePerSource TEXT NOT NULL,
  ConnectionTimeout TEXT NOT NULL,
  ConnectionInactivityTimeout TEXT NOT NULL,
  MaxProtocolErrors TEXT NOT NULL,
  PermissionGroups TEXT NOT NULL,
  AuthMechanism TEXT NOT NULL,
  MaxLogonFailures TEXT NOT NULL,
  TlsCertificatePath TEXT NOT NULL,
  TlsKeyPath TEXT NOT NULL,
  RequireTLS TEXT NOT NULL,
  PipeliningEnabled TEXT NOT NULL,
  EnhancedStatusCodesEnabled TEXT NOT NULL,
  ChunkingEnabled TEXT NOT NULL,
  EightBitMimeEnabled TEXT NOT NULL,
  ProtocolLoggingLevel TEXT NOT NULL,
  Comment TEXT NOT NULL
);
CREATE TABLE accepted_domains (
  id INTEGER PRIMARY KEY,
  Name TEXT NOT NULL UNIQUE COLLATE NOCASE,
  DomainName TEXT NOT NULL UNIQUE COLLATE NOCASE,
  DomainType TEXT NOT NULL,
  "Default" TEXT NOT NULL
);
CREATE TABLE mailboxes (
  id INTEGER PRIMARY KEY,
  PrimarySmtpAddress TEXT NOT NULL UNIQUE COLLATE NOCASE,
  EmailAddresses TEXT NOT NULL,
  DisplayName TEXT NOT NULL,
  PasswordHash TEXT NOT NULL DEFAULT ''
);
CREATE TABLE recipient_filter (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  RecipientValidationEnabled TEXT NOT NULL,
  BlockListEnabled TEXT NOT NULL,
  BlockedRecipients TEXT NOT NULL
);
INSERT INTO recipient_filter VALUES (1, 'true', 'false', '');
)sql",
    // 2: the transport server's settings (set-transportserver): how much protocol log is kept.
    R"sql(
CREATE TABLE transport_server_settings (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  ReceiveProtocolLogMaxAge TEXT NOT NULL,
  ReceiveProtocolLogMaxDirectorySize TEXT NOT NULL
);
INSERT INTO transport_server_settings VALUES (1, '30.00:00:00', '250MB');
)sql",
    // 3: the harvest defence's settings (set-harvestdefenceconfig), with their defaults.
    R"sql(
CREATE TABLE harvest_defence (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  Enabled TEXT NOT NULL,
  HalfLife TEXT NOT NULL,
  SuspectRefusedRecipients TEXT NOT NULL,
  SuspectAbandonedHolds TEXT NOT NULL,
  DiscreditRefusedRecipients TEXT NOT NULL,
  DiscreditRefusalPercent TEXT NOT NULL,
  DiscreditAbandonedHolds TEXT NOT NULL,
  PrefixThresholdMultiplier TEXT NOT NULL,
  IPv4PrefixLength TEXT NOT NULL,
  IPv6PrefixLength TEXT NOT NULL,
  DiscreditedMaxConnections TEXT NOT NULL,
  AuthFailureThreshold TEXT NOT NULL,
  AuthLockoutInterval TEXT NOT NULL,
  MaxSourceRecords TEXT NOT NULL,
  ExemptRemoteIPRanges TEXT NOT NULL
);
INSERT INTO harvest_defence VALUES
  (1, 'true', '01:00:00', '5', '1', '25', '80', '3', '3', '24', '64', '2', '10', '00:01:00', '1000000', '');
)sql",
    // 4: send connectors (DESIGN §11), and the queue's retry, expiry and connection settings of the
    // transport server, with their defaults. AuthenticationPassword is kept as given: it is sent to the
    // smart host, so it cannot be a hash; the admin API never returns it.
    R"sql(
CREATE TABLE send_connectors (
  id INTEGER PRIMARY KEY,
  Name TEXT NOT NULL UNIQUE COLLATE NOCASE,
  AddressSpaces TEXT NOT NULL,
  SmartHosts TEXT NOT NULL,
  Port TEXT NOT NULL,
  DNSRoutingEnabled TEXT NOT NULL,
  RequireTLS TEXT NOT NULL,
  SmartHostAuthMechanism TEXT NOT NULL,
  AuthenticationCredential TEXT NOT NULL,
  AuthenticationPassword TEXT NOT NULL DEFAULT '',
  MaxMessageSize TEXT NOT NULL,
  Fqdn TEXT NOT NULL,
  ConnectionInactivityTimeout TEXT NOT NULL,
  SmtpMaxMessagesPerConnection TEXT NOT NULL,
  Enabled TEXT NOT NULL,
  ProtocolLoggingLevel TEXT NOT NULL,
  Comment TEXT NOT NULL
);
ALTER TABLE transport_server_settings ADD COLUMN TransientFailureRetryInterval TEXT NOT NULL DEFAULT '00:05:00';
ALTER TABLE transport_server_settings ADD COLUMN OutboundConnectionFailureRetryInterval TEXT NOT NULL DEFAULT '00:10:00';
ALTER TABLE transport_server_settings ADD COLUMN MessageExpirationTimeout TEXT NOT NULL DEFAULT '2.00:00:00';
ALTER TABLE transport_server_settings ADD COLUMN DelayNotificationTimeout TEXT NOT NULL DEFAULT '04:00:00';
ALTER TABLE transport_server_settings ADD COLUMN MaxOutboundConnections TEXT NOT NULL DEFAULT '1000';
ALTER TABLE transport_server_settings ADD COLUMN MaxPerDomainOutboundConnections TEXT NOT NULL DEFAULT '20';
)sql",
};

}  // namespace

std::span<const std::string_view> schema_migrations() { return kMigrations; }

}  // namespace transport::store
