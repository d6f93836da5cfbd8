"""Send connectors and the queue settings of the transport server, end to end: real transportd, real
adminctl, real SQLite file (DESIGN §7, §11)."""
import json
import os
import smtplib

from harness import DaemonTestCase, adminctl


def send_connectors(test, *identities):
    return {c["Name"]: c for c in json.loads(test.ok("get-sendconnector", *identities, "--format", "json"))}


class SendConnectorAdminTest(DaemonTestCase):
    PASSWORD = "Sm4rt-H0st-Pa55!"

    def test_new_get_set_remove(self):
        self.assertEqual(self.ok("get-sendconnector"), "")  # none at first
        created = self.ok("new-sendconnector", "Internet", "--address-spaces", "*")
        self.assertIn("Internet", created)
        c = send_connectors(self)["Internet"]
        self.assertEqual(c["Identity"], "Internet")
        self.assertEqual(c["AddressSpaces"], ["SMTP:*;1"])
        self.assertEqual(c["SmartHosts"], [])
        self.assertEqual(c["Port"], 25)
        self.assertIs(c["DNSRoutingEnabled"], True)
        self.assertIs(c["RequireTLS"], False)
        self.assertEqual(c["SmartHostAuthMechanism"], "None")
        self.assertEqual(c["MaxMessageSize"], "10MB")
        self.assertEqual(c["ConnectionInactivityTimeout"], "00:10:00")
        self.assertEqual(c["SmtpMaxMessagesPerConnection"], 20)
        self.assertIs(c["Enabled"], True)
        self.assertEqual(c["ProtocolLoggingLevel"], "None")

        self.ok("New-SendConnector", "-Name", "Partner", "-AddressSpaces", "Partner.Example;5,*.sub.partner.example",
                "-SmartHosts", "127.0.0.1:2526", "-Port", "2525", "-MaxMessageSize", "unlimited",
                "-Fqdn", "Out.Example.com", "-Comment", "the partner's relay")
        p = send_connectors(self)["Partner"]
        self.assertEqual(p["AddressSpaces"], ["SMTP:partner.example;5", "SMTP:*.sub.partner.example;1"])
        self.assertEqual(p["SmartHosts"], ["127.0.0.1:2526"])
        self.assertEqual(p["Port"], 2525)
        self.assertEqual(p["MaxMessageSize"], "unlimited")
        self.assertEqual(p["Fqdn"], "out.example.com")

        self.ok("set-sendconnector", "Partner", "--connection-inactivity-timeout", "00:00:30",
                "--smtp-max-messages-per-connection", "5", "--require-tls", "true", "--enabled", "false")
        p = send_connectors(self)["Partner"]
        self.assertEqual(p["ConnectionInactivityTimeout"], "00:00:30")
        self.assertEqual(p["SmtpMaxMessagesPerConnection"], 5)
        self.assertIs(p["RequireTLS"], True)
        self.assertIs(p["Enabled"], False)

        # Globs, several identities, and identities read from standard input.
        self.ok("set-sendconnector", "*", "--protocol-logging-level", "Verbose")
        self.assertEqual({c["ProtocolLoggingLevel"] for c in send_connectors(self).values()}, {"Verbose"})
        names = self.ok("get-sendconnector", "--format", "name")
        self.assertEqual(names.split(), ["Internet", "Partner"])
        self.ok("set-sendconnector", "-", "--comment", "from stdin", input=names)
        self.assertEqual({c["Comment"] for c in send_connectors(self).values()}, {"from stdin"})

        table = self.ok("get-sendconnector", "--select", "Name,SmartHosts")
        self.assertEqual(table.splitlines()[0].split(), ["Name", "SmartHosts"])
        self.assertIn("127.0.0.1:2526", table)
        listed = self.ok("get-sendconnector", "Part*", "--format", "list")
        self.assertIn("AddressSpaces", listed)
        self.assertNotIn("Internet", listed)

        # Removing several needs a confirmation, which nobody can give here: exit 2, nothing removed.
        r = self.ctl("remove-sendconnector", "*")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(len(send_connectors(self)), 2)
        self.ok("remove-sendconnector", "Partner")  # one: no question
        self.assertEqual(list(send_connectors(self)), ["Internet"])
        self.ok("remove-sendconnector", "*", "--confirm:$false")
        self.assertEqual(self.ok("get-sendconnector"), "")

    def test_errors_have_their_exit_codes_and_change_nothing(self):
        self.ok("new-sendconnector", "Internet", "--address-spaces", "*")
        # Refused by the server: exit 1, the message names the property and the range.
        self.refused("set-sendconnector", "Internet", "--port", "0", expect_in=["Port", "allowed 1 to 65535"])
        self.refused("set-sendconnector", "Internet", "--connection-inactivity-timeout", "1.00:00:01",
                     expect_in=["ConnectionInactivityTimeout", "allowed 00:00:01 to 1.00:00:00"])
        self.refused("set-sendconnector", "Internet", "--max-message-size", "1KB",
                     expect_in=["MaxMessageSize", "64KB to 2GB, or unlimited"])
        self.refused("set-sendconnector", "Internet", "--smtp-max-messages-per-connection", "0",
                     expect_in=["SmtpMaxMessagesPerConnection", "1 to 2147483647"])
        self.refused("set-sendconnector", "Internet", "--address-spaces", "example.com;101",
                     expect_in=["AddressSpaces"])
        self.refused("set-sendconnector", "Internet", "--smart-hosts", "2001:db8::1", expect_in=["SmartHosts", "["])
        self.refused("set-sendconnector", "Internet", "--smart-host-auth-mechanism", "Kerberos",
                     expect_in=["SmartHostAuthMechanism", "None, BasicAuth or BasicAuthRequireTLS"])
        self.refused("set-sendconnector", "Internet", "--smart-host-auth-mechanism", "BasicAuth",
                     expect_in=["SmartHostAuthMechanism", "SmartHosts"])
        self.refused("new-sendconnector", "INTERNET", "--address-spaces", "example.com", expect_in=["already exists"])
        self.refused("set-sendconnector", "Nope", "--port", "26", expect_in=["Nope"])
        self.refused("get-sendconnector", "Nope", expect_in=["Nope"])
        self.refused("remove-sendconnector", "Nope", expect_in=["Nope"])
        # Several properties, one bad: nothing is applied.
        self.refused("set-sendconnector", "Internet", "--port", "26", "--max-message-size", "3GB",
                     expect_in=["MaxMessageSize"])
        self.assertEqual(send_connectors(self)["Internet"]["Port"], 25)
        # Wrong in itself: exit 2, before anything is sent.
        self.refused("new-sendconnector", "NoSpaces", code=2, expect_in=["AddressSpaces"])
        self.refused("set-sendconnector", "Internet", "--port", "many", code=2)
        self.refused("set-sendconnector", "Internet", "--require-tls", "maybe", code=2)
        self.refused("set-sendconnector", "Internet", "--no-such-flag", "1", code=2)
        self.refused("set-sendconnector", "Internet", code=2, expect_in=["nothing to set"])
        self.refused("set-sendconnector", "Internet", "--password", "x", code=2, expect_in=["--password-stdin"])
        self.assertEqual(list(send_connectors(self)), ["Internet"])
        # The server cannot be reached: exit 3.
        r = adminctl(None, "get-sendconnector", server="unix:" + os.path.join(self.tmp.name, "absent.sock"))
        self.assertEqual(r.returncode, 3, r.stderr)

    def test_dns_routing_follows_smart_hosts(self):
        self.ok("new-sendconnector", "Relay", "--address-spaces", "*", "--smart-hosts", "relay.example.com")
        self.assertIs(send_connectors(self)["Relay"]["DNSRoutingEnabled"], False)
        self.ok("set-sendconnector", "Relay", "--smart-hosts", "")
        c = send_connectors(self)["Relay"]
        self.assertEqual(c["SmartHosts"], [])
        self.assertIs(c["DNSRoutingEnabled"], True)
        self.ok("set-sendconnector", "Relay", "--add-smart-hosts", "192.0.2.25:587,[::1]")
        c = send_connectors(self)["Relay"]
        self.assertEqual(c["SmartHosts"], ["192.0.2.25:587", "[::1]"])
        self.assertIs(c["DNSRoutingEnabled"], False)
        self.ok("set-sendconnector", "Relay", "--remove-smart-hosts", "192.0.2.25:587,[::1]")
        self.assertIs(send_connectors(self)["Relay"]["DNSRoutingEnabled"], True)
        # Given both, they must agree.
        self.refused("set-sendconnector", "Relay", "--smart-hosts", "relay.example.com", "--dns-routing-enabled",
                     "true", expect_in=["DNSRoutingEnabled"])
        self.refused("set-sendconnector", "Relay", "-DNSRoutingEnabled:$false", expect_in=["DNSRoutingEnabled"])
        self.ok("set-sendconnector", "Relay", "--smart-hosts", "relay.example.com", "--DNSRoutingEnabled", "false")
        self.assertIs(send_connectors(self)["Relay"]["DNSRoutingEnabled"], False)

    def test_credential_password_is_never_shown(self):
        r = self.ctl("new-sendconnector", "Relay", "--address-spaces", "*", "--smart-hosts", "127.0.0.1:2526",
                     "--smart-host-auth-mechanism", "BasicAuth", "--authentication-credential", "relay-user",
                     "--password-stdin", input=self.PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        outputs = [r.stdout, r.stderr]
        for fmt in ["table", "list", "json", "name"]:
            outputs.append(self.ok("get-sendconnector", "--format", fmt))
        outputs.append(self.ok("get-sendconnector", "--select", "*", "--format", "json"))
        c = send_connectors(self)["Relay"]
        self.assertEqual(c["AuthenticationCredential"], "relay-user")
        self.assertEqual(c["SmartHostAuthMechanism"], "BasicAuth")
        r = self.ctl("set-sendconnector", "Relay", "--password-stdin", "--what-if", input=self.PASSWORD + "2\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        outputs += [r.stdout, r.stderr]
        r = self.ctl("set-sendconnector", "Relay", "--password-stdin", input=self.PASSWORD + "2\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        outputs += [r.stdout, r.stderr]
        # BasicAuth needs the password: removing it alone is refused.
        r = self.refused("set-sendconnector", "Relay", "--clear-password", expect_in=["AuthenticationCredential"])
        outputs.append(r.stderr)
        self.restart()
        outputs.append(self.ok("get-sendconnector", "--format", "json"))
        outputs.append(self.daemon.read_log())
        for out in outputs:
            self.assertNotIn(self.PASSWORD, out)
        # Kept (the smart host needs it), and what the daemon loaded after the restart.
        self.assertEqual(send_connectors(self)["Relay"]["AuthenticationCredential"], "relay-user")
        self.ok("set-sendconnector", "Relay", "--smart-host-auth-mechanism", "None", "--clear-password")
        self.ok("set-sendconnector", "Relay", "--authentication-credential", "")
        self.assertEqual(send_connectors(self)["Relay"]["AuthenticationCredential"], "")

    def test_persisted_across_restart(self):
        self.ok("new-sendconnector", "Internet", "--address-spaces", "*;50", "--comment", "to the world")
        r = self.ctl("new-sendconnector", "Partner", "--address-spaces", "partner.example,*.partner.example;3",
                     "--smart-hosts", "relay.partner.example:587,192.0.2.7", "--require-tls", "true",
                     "--smart-host-auth-mechanism", "BasicAuthRequireTLS", "--authentication-credential", "u",
                     "--max-message-size", "25MB", "--connection-inactivity-timeout", "00:01:00",
                     "--smtp-max-messages-per-connection", "7", "--protocol-logging-level", "Verbose",
                     "--password-stdin", input=self.PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        before = send_connectors(self)
        self.restart()
        self.assertEqual(send_connectors(self), before)
        self.assertEqual(before["Partner"]["SmartHosts"], ["relay.partner.example:587", "192.0.2.7"])
        self.assertEqual(before["Partner"]["SmartHostAuthMechanism"], "BasicAuthRequireTLS")
        self.assertEqual(before["Internet"]["AddressSpaces"], ["SMTP:*;50"])


class TransportServerQueueSettingsTest(DaemonTestCase):
    DEFAULTS = {
        "TransientFailureRetryInterval": "00:05:00",
        "OutboundConnectionFailureRetryInterval": "00:10:00",
        "MessageExpirationTimeout": "2.00:00:00",
        "DelayNotificationTimeout": "04:00:00",
        "MaxOutboundConnections": "1000",
        "MaxPerDomainOutboundConnections": "20",
    }

    def settings(self):
        server = json.loads(self.ok("get-transportserver", "--select", ",".join(self.DEFAULTS), "--format", "json"))
        return server

    def test_defaults_set_ranges_and_restart(self):
        self.assertEqual(self.settings(), self.DEFAULTS)
        # The short values tests of the queue use are allowed.
        self.ok("set-transportserver", "--transient-failure-retry-interval", "00:00:01",
                "-OutboundConnectionFailureRetryInterval", "00:00:01", "--message-expiration-timeout", "00:00:05",
                "--delay-notification-timeout", "00:00:01", "--max-outbound-connections", "unlimited",
                "--MaxPerDomainOutboundConnections", "1")
        changed = {
            "TransientFailureRetryInterval": "00:00:01",
            "OutboundConnectionFailureRetryInterval": "00:00:01",
            "MessageExpirationTimeout": "00:00:05",
            "DelayNotificationTimeout": "00:00:01",
            "MaxOutboundConnections": "unlimited",
            "MaxPerDomainOutboundConnections": "1",
        }
        self.assertEqual(self.settings(), changed)
        self.refused("set-transportserver", "--transient-failure-retry-interval", "12:00:01",
                     expect_in=["TransientFailureRetryInterval", "allowed 00:00:01 to 12:00:00"])
        self.refused("set-transportserver", "--outbound-connection-failure-retry-interval", "00:00:00",
                     expect_in=["OutboundConnectionFailureRetryInterval", "allowed 00:00:01 to 1.00:00:00"])
        self.refused("set-transportserver", "--message-expiration-timeout", "00:00:04",
                     expect_in=["MessageExpirationTimeout", "allowed 00:00:05 to 90.00:00:00"])
        self.refused("set-transportserver", "--delay-notification-timeout", "30.00:00:01",
                     expect_in=["DelayNotificationTimeout", "allowed 00:00:01 to 30.00:00:00"])
        self.refused("set-transportserver", "--max-outbound-connections", "0",
                     expect_in=["MaxOutboundConnections", "1 to 2147483647, or unlimited"])
        self.refused("set-transportserver", "--max-per-domain-outbound-connections", "2147483648",
                     expect_in=["MaxPerDomainOutboundConnections"])
        self.refused("set-transportserver", "--message-expiration-timeout", "5", expect_in=["00:00:05"])
        self.assertEqual(self.settings(), changed)
        self.restart()
        self.assertEqual(self.settings(), changed)
        listed = self.ok("get-transportserver", "--format", "list")
        for name in self.DEFAULTS:
            self.assertIn(name, listed)


def route(test, recipient, *flags):
    """test-route's list output as a dict (every property, empty ones too)."""
    out = test.ok("test-route", recipient, *flags)
    shown = {}
    for line in out.splitlines():
        name, _, value = line.partition(" : ")
        shown[name.strip()] = value
    return shown


class TestRouteTest(DaemonTestCase):
    """test-route answers what RCPT TO answers, from the configuration in force."""

    def setUp(self):
        super().setUp()
        self.ok("new-accepteddomain", "Example", "--domain-name", "example.com")
        self.ok("new-accepteddomain", "Hosted", "--domain-name", "*.hosted.example", "--domain-type", "ExternalRelay")
        self.ok("new-mailbox", "robert@example.com", "--email-addresses", "bob@example.com")
        # Two "*" entries: the cheaper wins; *.hosted.example is more specific than "*" whatever its cost.
        self.ok("new-sendconnector", "Internet", "--address-spaces", "*;5")
        self.ok("new-sendconnector", "Smart", "--address-spaces", "*;1", "--smart-hosts",
                "smarthost.example.net,127.0.0.1:2526")
        self.ok("new-sendconnector", "Hosting", "--address-spaces", "*.hosted.example;50")

    def rcpt_reply(self, recipient):
        """The code RCPT TO gets in an anonymous session from 127.0.0.1."""
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as smtp:
            smtp.ehlo("client.example")
            smtp.mail("sender@example.org")
            code, _ = smtp.rcpt(recipient)
            return code

    def test_each_result(self):
        local = route(self, "Bob@EXAMPLE.COM")
        self.assertEqual(list(local), ["Recipient", "Result", "Reply", "Mailbox", "AcceptedDomain", "SendConnector",
                                       "AddressSpace", "DeliveryType", "NextHop", "Reason"])
        self.assertEqual(local["Recipient"], "Bob@example.com")
        self.assertEqual(local["Result"], "Local")
        self.assertEqual(local["Reply"], "250 2.1.5")
        self.assertEqual(local["Mailbox"], "robert@example.com")
        self.assertEqual(local["AcceptedDomain"], "Example")
        self.assertEqual(local["DeliveryType"], "MailboxDelivery")
        self.assertEqual(local["SendConnector"], "")

        unknown = route(self, "nobody@example.com")
        self.assertEqual((unknown["Result"], unknown["Reply"]), ("Refused", "550 5.1.1"))

        anonymous = route(self, "someone@elsewhere.example")
        self.assertEqual((anonymous["Result"], anonymous["Reply"]), ("Refused", "550 5.7.1"))
        self.assertEqual(anonymous["SendConnector"], "")

        relayed = route(self, "someone@elsewhere.example", "-Authenticated:$true")
        self.assertEqual((relayed["Result"], relayed["Reply"]), ("Relay", "250 2.1.5"))
        self.assertEqual(relayed["SendConnector"], "Smart")
        self.assertEqual(relayed["AddressSpace"], "SMTP:*;1")
        self.assertEqual(relayed["DeliveryType"], "SmartHostConnectorDelivery")
        self.assertEqual(relayed["NextHop"], "smarthost.example.net, 127.0.0.1:2526")
        self.assertIn("Smart", relayed["Reason"])

        hosted = route(self, "user@shop.hosted.example")  # a relay domain: anonymous sessions too
        self.assertEqual((hosted["Result"], hosted["SendConnector"]), ("Relay", "Hosting"))
        self.assertEqual(hosted["AcceptedDomain"], "Hosted")
        self.assertEqual(hosted["DeliveryType"], "DnsConnectorDelivery")
        self.assertEqual(hosted["NextHop"], "shop.hosted.example")

        # A configuration change is seen at once; with no connector for the relay domain: 5.4.4.
        self.ok("remove-sendconnector", "*", "--confirm:$false")
        gone = route(self, "user@shop.hosted.example")
        self.assertEqual((gone["Result"], gone["Reply"]), ("Refused", "550 5.4.4"))
        self.assertEqual(route(self, "someone@elsewhere.example", "--authenticated", "true")["Reply"], "550 5.4.4")

    def test_agrees_with_rcpt_to(self):
        for recipient in ("bob@example.com", "nobody@example.com", "someone@elsewhere.example",
                          "user@shop.hosted.example"):
            expected = int(route(self, recipient)["Reply"].split()[0])
            self.assertEqual(self.rcpt_reply(recipient), expected, recipient)

    def test_a_recipient_that_is_not_an_address_is_refused(self):
        self.refused("test-route", "not-an-address", expect_in=["Recipient"])
        self.refused("test-route", "a@b@example.com", expect_in=["Recipient"])
        self.refused("test-route", expect_in=["RECIPIENT"], code=2)
        self.assertEqual(route(self, "postmaster")["Reply"], "250 2.1.5")
