// The decisions of MX routing (RFC 5321 §5.1, RFC 7505), apart from any socket: what a DNS answer means
// for a mail domain, the order in which its hosts and addresses are tried, and the sentence a queue or a
// non-delivery report shows when there is no route. resolver.cpp asks DNS; this file decides.
#pragma once

#include <asio/ip/address.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace transport::dns {

enum class LookupStatus : std::uint8_t {
  ok,
  no_such_domain,     // NXDOMAIN, or no host with an address: permanent (a non-delivery report)
  null_mx,            // the domain accepts no mail (RFC 7505): permanent
  temporary_failure,  // SERVFAIL, REFUSED, timeout, no server reachable: retry later
};

struct MailHost {
  std::string name;  // as the MX record names it, lower case, no trailing dot
  std::uint16_t preference = 0;
  std::vector<asio::ip::address> addresses;  // in the order to try (order_addresses)
};

struct MailRoute {
  LookupStatus status = LookupStatus::temporary_failure;
  std::string error;            // empty when ok; else a sentence for the queue's LastError and DSNs
  std::vector<MailHost> hosts;  // in the order to try; each has at least one address when ok
};

struct HostAddresses {
  LookupStatus status = LookupStatus::temporary_failure;
  std::string error;
  std::vector<asio::ip::address> addresses;  // in the order to try
};

// What one DNS question got, whatever library asked it.
enum class AnswerKind : std::uint8_t {
  records,         // NOERROR with records of the asked type
  no_records,      // NOERROR, none of that type (NODATA)
  no_such_name,    // NXDOMAIN, or a name DNS cannot carry
  failed,          // SERVFAIL, REFUSED, timeout, unreachable server, malformed answer
};

struct MxRecord {
  std::string host;  // "" for the root name "." (a null MX)
  std::uint16_t preference = 0;
};

struct DnsAnswer {
  AnswerKind kind = AnswerKind::failed;
  std::string reason;  // why it failed, for the error sentence ("timeout", "server failure")
  std::vector<MxRecord> mx_records;           // an MX question's records
  std::vector<asio::ip::address> addresses;  // an address question's A and AAAA records
};

// A domain's MX hosts are capped so that a hostile zone cannot make one message cost hundreds of lookups.
inline constexpr std::size_t max_mail_hosts = 10;

// "Example.COM." → "example.com": DNS names compare without case and without the root's dot.
std::string normalize_name(std::string_view name);

// A domain literal ("[192.0.2.1]", "[IPv6:2001:db8::1]", RFC 5321 §4.1.3) routes to that address with no
// lookup; nullopt for a domain name.
std::optional<MailRoute> route_for_domain_literal(std::string_view domain);

// What the MX answer tells us to do next.
struct MailHostPlan {
  bool finished = false;        // true: `route` is the answer (null MX, NXDOMAIN, failure, bad records)
  MailRoute route;              // when finished
  bool implicit_mx = false;     // no MX records: the domain itself is the only host (RFC 5321 §5.1)
  std::vector<MailHost> hosts;  // when not finished: the hosts to look up, in the order to try
};

// Decides from the MX answer for `domain`:
// - NXDOMAIN → no_such_domain; failure → temporary_failure.
// - NODATA → the implicit MX: the domain itself, preference 0.
// - A null MX ("." at any preference, RFC 7505 §3) as the only record(s) → null_mx. A null MX beside
//   real MX records is a misconfigured zone; the real records are used and the "." ignored.
// - MX hosts are deduplicated by name (the lowest preference kept), sorted by preference, and hosts of
//   equal preference shuffled with `shuffle_seed` (RFC 5321 §5.1 asks for load spreading; the seed makes
//   it repeatable in tests). At most max_mail_hosts are kept, the most preferred.
// - An MX naming an address literal ("192.0.2.1") breaks RFC 5321 §5.1 ("MUST be a domain name"); like
//   Postfix and Exim we do not connect to it: it is dropped, and a domain with nothing else is
//   no_such_domain with a sentence saying why. An MX naming a CNAME is followed by the address lookup
//   (RFC 2181 §10.3 forbids it but every MTA tolerates it); the host keeps the name the MX gave.
MailHostPlan plan_mail_hosts(std::string_view domain, const DnsAnswer& mx_answer,
                             std::uint64_t shuffle_seed);

// Deduplicates `addresses` and orders them IPv4 and IPv6 alternately, IPv4 first (each family in the
// order DNS gave it): a host whose IPv6 is broken still gets an IPv4 attempt first, and one reachable
// only over IPv6 gets it on the second attempt rather than after every IPv4 address.
std::vector<asio::ip::address> order_addresses(std::vector<asio::ip::address> addresses);

// The route from the plan's hosts and the address answer of each (same order, same size): each host
// gets its ordered addresses, less any a more preferred host already has (the same server is not tried
// twice); hosts left with none are dropped. No host with an address: temporary_failure if any lookup
// failed temporarily (it may have one next time), else no_such_domain.
MailRoute assemble_route(std::string_view domain, const MailHostPlan& plan,
                         const std::vector<DnsAnswer>& address_answers);

// A smart host's addresses from its address answer.
HostAddresses host_addresses_from(std::string_view host, const DnsAnswer& address_answer);

// "temporary_failure" etc., for logs and tests.
std::string_view to_string(LookupStatus status);

}  // namespace transport::dns
