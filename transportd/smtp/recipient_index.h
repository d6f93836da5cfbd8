// RecipientIndex: the recipient filter's view of a configuration snapshot, built once per snapshot
// so that a RCPT is answered with a few hash lookups (100,000 mailboxes: microseconds, no allocation
// beyond the lower-cased key).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "store/configuration.h"

namespace transport::smtp {

enum class RecipientVerdict : std::uint8_t {
  accepted,        // 250 2.1.5: deliver to `mailbox` (Authoritative) or accept for relay domains
  not_accepted,    // domain is not an accepted domain and the session may not relay: 550 5.7.1
  no_route,        // not an accepted domain, from a session that may relay, but no send connector
                   // routes it (there are none yet): 550 5.4.4, never parked (DESIGN §5)
  blocked,         // on the block list (BlockListEnabled): 550 5.1.1
  unknown_user,    // Authoritative domain, validation on, no such mailbox or alias: 550 5.1.1
};

struct RecipientDecision {
  RecipientVerdict verdict = RecipientVerdict::not_accepted;
  const store::Mailbox* mailbox = nullptr;  // for accepted recipients of Authoritative domains
  const store::AcceptedDomain* domain = nullptr;
};

class RecipientIndex {
 public:
  // Keeps pointers into `config`: the index must not outlive the snapshot it was built from.
  explicit RecipientIndex(const store::Configuration& config);

  // `address` is local@domain as parsed from RCPT TO. Checks, in DESIGN §5's order after syntax:
  // accepted domain (or relay permission), block list, mailbox/alias for Authoritative domains.
  // "postmaster@" an Authoritative domain (any case) is always accepted (RFC 5321 §4.5.1): its own
  // mailbox or alias when it has one, else the server's postmaster().
  RecipientDecision check(std::string_view address, bool may_relay) const;

  // RCPT TO:<Postmaster> without a domain: always accepted (no relay or block-list check), for the
  // server's postmaster — the mailbox or alias postmaster@ the Default accepted domain when that
  // domain is Authoritative and has it, else postmaster@ the first Authoritative domain (by name) that
  // has one, else no mailbox: the message is held with the other accepted mail that has no mailbox.
  RecipientDecision postmaster() const { return postmaster_; }

  const store::AcceptedDomain* accepted_domain(std::string_view domain) const;

  // The mailbox that owns `address` (primary or alias, any letter case): the AUTH user lookup.
  const store::Mailbox* find_mailbox(std::string_view address) const;

 private:
  std::unordered_map<std::string, const store::Mailbox*> mailboxes_;  // lower-cased address → mailbox
  std::unordered_map<std::string, const store::AcceptedDomain*> exact_domains_;
  std::vector<const store::AcceptedDomain*> wildcard_domains_;  // "*.example.com", longest first
  std::unordered_set<std::string> blocked_;
  RecipientDecision postmaster_;
  bool validation_enabled_ = true;
  bool block_list_enabled_ = false;
};

}  // namespace transport::smtp
