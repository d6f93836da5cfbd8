// MX routing decisions (see mail_route.h): pure functions over DNS answers, no I/O.
#include "transportd/dns/mail_route.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

namespace transport::dns {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_address_literal(const std::string& name) {
  asio::error_code error;
  (void)asio::ip::make_address(name, error);
  return !error;
}

// splitmix64: a fixed, well-mixed sequence from a seed, identical on every platform (std's
// distributions are not), so a seed names one order in tests.
std::uint64_t next_random(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void shuffle(std::vector<MailHost>::iterator first, std::vector<MailHost>::iterator last,
             std::uint64_t& state) {
  for (auto n = last - first; n > 1; --n) {
    auto pick = static_cast<decltype(n)>(next_random(state) % static_cast<std::uint64_t>(n));
    std::swap(first[n - 1], first[pick]);
  }
}

std::string with_reason(std::string_view reason) {
  return reason.empty() ? std::string() : " (" + std::string(reason) + ")";
}

MailHostPlan finished(LookupStatus status, std::string error) {
  MailHostPlan plan;
  plan.finished = true;
  plan.route.status = status;
  plan.route.error = std::move(error);
  return plan;
}

}  // namespace

std::string normalize_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

std::optional<MailRoute> route_for_domain_literal(std::string_view domain) {
  if (domain.size() < 2 || domain.front() != '[' || domain.back() != ']') return std::nullopt;
  std::string_view inside = domain.substr(1, domain.size() - 2);
  asio::error_code error;
  asio::ip::address address;
  constexpr std::string_view ipv6_tag = "ipv6:";
  if (inside.size() > ipv6_tag.size() && normalize_name(inside.substr(0, ipv6_tag.size())) == ipv6_tag) {
    address = asio::ip::make_address_v6(std::string(inside.substr(ipv6_tag.size())), error);
  } else {
    address = asio::ip::make_address_v4(std::string(inside), error);
  }
  MailRoute route;
  if (error) {
    route.status = LookupStatus::no_such_domain;
    route.error = "The domain literal " + std::string(domain) + " is not a valid address.";
    return route;
  }
  route.status = LookupStatus::ok;
  route.hosts.push_back(MailHost{std::string(domain), 0, {address}});
  return route;
}

MailHostPlan plan_mail_hosts(std::string_view domain, const DnsAnswer& mx_answer,
                             std::uint64_t shuffle_seed) {
  const std::string name = normalize_name(domain);
  switch (mx_answer.kind) {
    case AnswerKind::no_such_name:
      return finished(LookupStatus::no_such_domain,
                      "The domain " + name + " does not exist in DNS" + with_reason(mx_answer.reason) + ".");
    case AnswerKind::failed:
      return finished(LookupStatus::temporary_failure, "The DNS lookup of the MX records of " + name +
                                                           " failed" + with_reason(mx_answer.reason) +
                                                           "; it will be retried.");
    case AnswerKind::no_records:
    case AnswerKind::records:
      break;
  }

  std::vector<MailHost> hosts;
  bool null_mx = false;
  std::string literal;
  for (const MxRecord& record : mx_answer.mx_records) {
    std::string host = normalize_name(record.host);
    if (host.empty()) {
      null_mx = true;
    } else if (is_address_literal(host)) {
      literal = host;
    } else {
      hosts.push_back(MailHost{std::move(host), record.preference, {}});
    }
  }

  MailHostPlan plan;
  if (hosts.empty()) {
    if (!literal.empty()) {
      return finished(LookupStatus::no_such_domain,
                      "The MX record of " + name + " names the address " + literal +
                          " instead of a host name, which RFC 5321 does not allow.");
    }
    if (null_mx) {
      return finished(LookupStatus::null_mx,
                      "The domain " + name + " accepts no mail (null MX record, RFC 7505).");
    }
    plan.implicit_mx = true;
    plan.hosts.push_back(MailHost{name, 0, {}});
    return plan;
  }

  // The same host listed twice keeps its most preferred entry.
  std::sort(hosts.begin(), hosts.end(), [](const MailHost& a, const MailHost& b) {
    return std::tie(a.name, a.preference) < std::tie(b.name, b.preference);
  });
  hosts.erase(std::unique(hosts.begin(), hosts.end(),
                          [](const MailHost& a, const MailHost& b) { return a.name == b.name; }),
              hosts.end());
  // By preference, then by name so that the shuffle starts from an order DNS cannot vary.
  std::sort(hosts.begin(), hosts.end(), [](const MailHost& a, const MailHost& b) {
    return std::tie(a.preference, a.name) < std::tie(b.preference, b.name);
  });
  std::uint64_t state = shuffle_seed;
  for (auto group = hosts.begin(); group != hosts.end();) {
    auto group_end = std::find_if(group, hosts.end(), [&](const MailHost& h) {
      return h.preference != group->preference;
    });
    shuffle(group, group_end, state);
    group = group_end;
  }
  if (hosts.size() > max_mail_hosts) hosts.resize(max_mail_hosts);
  plan.hosts = std::move(hosts);
  return plan;
}

std::vector<asio::ip::address> order_addresses(std::vector<asio::ip::address> addresses) {
  std::vector<asio::ip::address> v4;
  std::vector<asio::ip::address> v6;
  std::set<asio::ip::address> seen;
  for (const auto& address : addresses) {
    if (!seen.insert(address).second) continue;
    (address.is_v4() ? v4 : v6).push_back(address);
  }
  std::vector<asio::ip::address> ordered;
  ordered.reserve(v4.size() + v6.size());
  for (std::size_t i = 0; i < std::max(v4.size(), v6.size()); ++i) {
    if (i < v4.size()) ordered.push_back(v4[i]);
    if (i < v6.size()) ordered.push_back(v6[i]);
  }
  return ordered;
}

MailRoute assemble_route(std::string_view domain, const MailHostPlan& plan,
                         const std::vector<DnsAnswer>& address_answers) {
  const std::string name = normalize_name(domain);
  MailRoute route;
  std::set<asio::ip::address> taken;
  std::string temporary_reason;
  bool temporary = false;
  for (std::size_t i = 0; i < plan.hosts.size() && i < address_answers.size(); ++i) {
    const DnsAnswer& answer = address_answers[i];
    if (answer.kind == AnswerKind::failed) {
      temporary = true;
      if (temporary_reason.empty()) temporary_reason = plan.hosts[i].name + ": " + answer.reason;
      continue;
    }
    if (answer.kind != AnswerKind::records) continue;
    MailHost host = plan.hosts[i];
    for (const auto& address : order_addresses(answer.addresses)) {
      if (taken.insert(address).second) host.addresses.push_back(address);
    }
    if (!host.addresses.empty()) route.hosts.push_back(std::move(host));
  }
  if (!route.hosts.empty()) {
    route.status = LookupStatus::ok;
    return route;
  }
  if (temporary) {
    route.status = LookupStatus::temporary_failure;
    route.error = "The DNS lookup of the mail servers of " + name + " failed (" + temporary_reason +
                  "); it will be retried.";
    return route;
  }
  route.status = LookupStatus::no_such_domain;
  if (plan.implicit_mx) {
    route.error = "The domain " + name + " has no MX record and no address.";
  } else {
    std::string names;
    for (const MailHost& host : plan.hosts) names += (names.empty() ? "" : ", ") + host.name;
    route.error = "None of the mail servers of " + name + " (" + names + ") has an address in DNS.";
  }
  return route;
}

HostAddresses host_addresses_from(std::string_view host, const DnsAnswer& address_answer) {
  const std::string name = normalize_name(host);
  HostAddresses result;
  if (address_answer.kind == AnswerKind::failed) {
    result.status = LookupStatus::temporary_failure;
    result.error = "The DNS lookup of the host " + name + " failed" + with_reason(address_answer.reason) +
                   "; it will be retried.";
    return result;
  }
  if (address_answer.kind == AnswerKind::records) result.addresses = order_addresses(address_answer.addresses);
  if (result.addresses.empty()) {
    result.status = LookupStatus::no_such_domain;
    result.error = "The host " + name + " has no address in DNS" + with_reason(address_answer.reason) + ".";
    return result;
  }
  result.status = LookupStatus::ok;
  return result;
}

std::string_view to_string(LookupStatus status) {
  switch (status) {
    case LookupStatus::ok: return "ok";
    case LookupStatus::no_such_domain: return "no_such_domain";
    case LookupStatus::null_mx: return "null_mx";
    case LookupStatus::temporary_failure: return "temporary_failure";
  }
  return "unknown";
}

}  // namespace transport::dns
