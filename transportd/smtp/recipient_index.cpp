// RecipientIndex: hash maps built once per configuration snapshot, so that answering a RCPT — the
// request a directory-harvest attack repeats — costs a few lookups and one key allocation.
#include "transportd/smtp/recipient_index.h"

#include <algorithm>

#include "store/text_util.h"

namespace transport::smtp {

RecipientIndex::RecipientIndex(const store::Configuration& config)
    : validation_enabled_(config.recipient_filter.recipient_validation_enabled),
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
  postmaster_.verdict = RecipientVerdict::accepted;
  for (const store::AcceptedDomain* domain : candidates) {
    if (const store::Mailbox* mailbox = find_mailbox("postmaster@" + domain->domain_name)) {
      postmaster_.mailbox = mailbox;
      postmaster_.domain = domain;
      break;
    }
  }
}

const store::AcceptedDomain* RecipientIndex::accepted_domain(std::string_view domain) const {
  std::string key = store::to_lower(domain);
  if (auto it = exact_domains_.find(key); it != exact_domains_.end()) return it->second;
  for (const store::AcceptedDomain* wildcard : wildcard_domains_) {
    if (wildcard->matches(key)) return wildcard;
  }
  return nullptr;
}

RecipientDecision RecipientIndex::check(std::string_view address, bool may_relay) const {
  RecipientDecision decision;
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
    decision.verdict = RecipientVerdict::blocked;
    return decision;
  }
  if (decision.domain == nullptr) {
    // A session that may relay, to a domain of nobody's: only a send connector could take it.
    decision.verdict = RecipientVerdict::no_route;
    return decision;
  }
  if (decision.domain->domain_type == store::DomainType::authoritative) {
    if (auto it = mailboxes_.find(key); it != mailboxes_.end()) {
      decision.mailbox = it->second;
    } else if (std::string_view(key).substr(0, at) == "postmaster") {
      decision.mailbox = postmaster_.mailbox;
    } else if (validation_enabled_) {
      decision.verdict = RecipientVerdict::unknown_user;
      return decision;
    }
  }
  decision.verdict = RecipientVerdict::accepted;
  return decision;
}

const store::Mailbox* RecipientIndex::find_mailbox(std::string_view address) const {
  auto it = mailboxes_.find(store::address_key(address));
  return it == mailboxes_.end() ? nullptr : it->second;
}

}  // namespace transport::smtp
