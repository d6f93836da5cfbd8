// RecipientRouter: hash maps built once per configuration snapshot, so that answering a RCPT — the
// request a directory-harvest attack repeats — costs a few lookups and one key allocation.
#include "transportd/routing/recipient_router.h"

#include <algorithm>

#include "store/text_util.h"

namespace transport::routing {

SendConnectorRoutes::SendConnectorRoutes(const std::vector<store::SendConnector>& connectors) {
  for (const store::SendConnector& connector : connectors) {
    if (!connector.enabled) continue;
    for (const store::AddressSpace& space : connector.address_spaces) {
      entries_.push_back(Entry{&connector, &space, space.specificity()});
    }
  }
  std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    if (a.specificity != b.specificity) return a.specificity > b.specificity;
    if (a.address_space->cost != b.address_space->cost) return a.address_space->cost < b.address_space->cost;
    return store::to_lower(a.connector->name) < store::to_lower(b.connector->name);
  });
}

SendConnectorRoutes::Match SendConnectorRoutes::route(std::string_view domain) const {
  for (const Entry& entry : entries_) {
    if (entry.address_space->matches(domain)) return Match{entry.connector, entry.address_space};
  }
  return {};
}

RecipientRouter::RecipientRouter(const store::Configuration& config)
    : send_connectors_(config.send_connectors),
      validation_enabled_(config.recipient_filter.recipient_validation_enabled),
      block_list_enabled_(config.recipient_filter.block_list_enabled) {
  std::size_t addresses = 0;
  for (const store::Mailbox& mailbox : config.mailboxes) addresses += 1 + mailbox.email_addresses.size();
  mailboxes_.reserve(addresses);
  for (const store::Mailbox& mailbox : config.mailboxes) {
    mailboxes_.emplace(store::address_key(mailbox.primary_smtp_address), &mailbox);
    for (const std::string& alias : mailbox.email_addresses) {
      mailboxes_.emplace(store::address_key(alias), &mailbox);
    }
  }
  for (const store::AcceptedDomain& domain : config.accepted_domains) {
    if (domain.is_wildcard()) {
      wildcard_domains_.push_back(&domain);
    } else {
      exact_domains_.emplace(store::to_lower(domain.domain_name), &domain);
    }
  }
  // Longest pattern first: the first wildcard that matches is the most specific one.
  std::stable_sort(wildcard_domains_.begin(), wildcard_domains_.end(),
                   [](const store::AcceptedDomain* a, const store::AcceptedDomain* b) {
                     return a->domain_name.size() > b->domain_name.size();
                   });
  for (const std::string& address : config.recipient_filter.blocked_recipients) {
    blocked_.insert(store::address_key(address));
  }

  // The server's postmaster: the Default domain's first, then the Authoritative domains by name.
  std::vector<const store::AcceptedDomain*> candidates;
  for (const store::AcceptedDomain& domain : config.accepted_domains) {
    if (domain.domain_type == store::DomainType::authoritative && !domain.is_wildcard()) {
      candidates.push_back(&domain);
    }
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const store::AcceptedDomain* a, const store::AcceptedDomain* b) {
                     return a->is_default != b->is_default ? a->is_default : a->domain_name < b->domain_name;
                   });
  postmaster_.verdict = Verdict::non_delivery;
  for (const store::AcceptedDomain* domain : candidates) {
    if (const store::Mailbox* mailbox = find_mailbox("postmaster@" + domain->domain_name)) {
      postmaster_.verdict = Verdict::local;
      postmaster_.mailbox = mailbox;
      postmaster_.domain = domain;
      break;
    }
  }
}

const store::AcceptedDomain* RecipientRouter::accepted_domain(std::string_view domain) const {
  std::string key = store::to_lower(domain);
  if (auto it = exact_domains_.find(key); it != exact_domains_.end()) return it->second;
  for (const store::AcceptedDomain* wildcard : wildcard_domains_) {
    if (wildcard->matches(key)) return wildcard;
  }
  return nullptr;
}

Decision RecipientRouter::check(std::string_view address, bool may_relay) const {
  Decision decision;
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos) return decision;  // the parser never lets this through

  // One buffer serves both lookups: first the lower-cased domain, then "local@domain" built in place
  // (the capacity is reserved, so the insert does not allocate again).
  std::string key;
  key.reserve(address.size());
  for (char c : address.substr(at + 1)) key.push_back(store::ascii_lower(c));

  if (auto it = exact_domains_.find(key); it != exact_domains_.end()) {
    decision.domain = it->second;
  } else {
    for (const store::AcceptedDomain* wildcard : wildcard_domains_) {
      if (wildcard->matches(key)) {
        decision.domain = wildcard;
        break;
      }
    }
  }
  if (decision.domain == nullptr && !may_relay) return decision;  // not_accepted

  key.insert(0, address.substr(0, at + 1));
  for (std::size_t i = 0; i < at; ++i) key[i] = store::ascii_lower(key[i]);

  if (block_list_enabled_ && blocked_.contains(key)) {
    decision.verdict = Verdict::blocked;
    return decision;
  }
  if (decision.domain != nullptr && decision.domain->domain_type == store::DomainType::authoritative) {
    if (auto it = mailboxes_.find(key); it != mailboxes_.end()) {
      decision.mailbox = it->second;
    } else if (std::string_view(key).substr(0, at) == "postmaster") {
      Decision postmaster = postmaster_;
      postmaster.domain = decision.domain;
      return postmaster;
    } else {
      decision.verdict = validation_enabled_ ? Verdict::unknown_user : Verdict::non_delivery;
      return decision;
    }
    decision.verdict = Verdict::local;
    return decision;
  }
  // A relay-type accepted domain, or any domain from a session that may relay: a send connector
  // must take it.
  const SendConnectorRoutes::Match match = send_connectors_.route(std::string_view(key).substr(at + 1));
  if (match.connector == nullptr) {
    decision.verdict = Verdict::no_route;
    return decision;
  }
  decision.verdict = Verdict::relay;
  decision.connector = match.connector;
  decision.address_space = match.address_space;
  return decision;
}

const store::Mailbox* RecipientRouter::find_mailbox(std::string_view address) const {
  auto it = mailboxes_.find(store::address_key(address));
  return it == mailboxes_.end() ? nullptr : it->second;
}

std::string explain(const Decision& decision, std::string_view address, bool may_relay) {
  const std::string domain = decision.domain == nullptr
                                 ? std::string()
                                 : " (accepted domain " + decision.domain->domain_name + ", " +
                                       std::string(decision.domain->domain_type == store::DomainType::authoritative
                                                       ? "Authoritative"
                                                       : decision.domain->domain_type == store::DomainType::internal_relay
                                                             ? "InternalRelay"
                                                             : "ExternalRelay") +
                                       ")";
  const std::string who = decision.domain != nullptr ? "" : may_relay ? " for a session that may relay" : "";
  switch (decision.verdict) {
    case Verdict::local:
      return "delivered locally to the mailbox " + decision.mailbox->primary_smtp_address + domain;
    case Verdict::relay:
      return "relayed through the send connector " + decision.connector->name + " (AddressSpace " +
             decision.address_space->to_string() + ")" + domain + who;
    case Verdict::non_delivery:
      return "accepted, then returned to the sender with a non-delivery report: no mailbox has the address " +
             std::string(address) + domain + ", and RecipientValidationEnabled is false or it is the postmaster";
    case Verdict::not_accepted:
      return "refused with 550 5.7.1: not an accepted domain, and the session may not relay (only "
             "authenticated sessions and ExternalAuthoritative connectors may)";
    case Verdict::no_route:
      return "refused with 550 5.4.4: no enabled send connector has an AddressSpace that matches the domain" +
             domain + who;
    case Verdict::blocked:
      return "refused with 550 5.1.1: the address is on the recipient block list" + domain;
    case Verdict::unknown_user:
      return "refused with 550 5.1.1: no mailbox or alias has this address" + domain;
  }
  return {};
}

}  // namespace transport::routing
