// RecipientRouter: where each recipient goes (DESIGN §5 and §11), decided once per RCPT from a
// configuration snapshot. Built once per snapshot so that answering a RCPT — the request a
// directory-harvest attack repeats — costs a few hash lookups (100,000 mailboxes: microseconds, no
// allocation beyond the lower-cased key). The queue asks it again before each delivery attempt, so a
// changed send connector takes effect for mail already queued.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "store/configuration.h"

namespace transport::routing {

enum class Verdict : std::uint8_t {
  local,         // Authoritative domain, a mailbox or alias: deliver to `mailbox`
  relay,         // through `connector` (its best `address_space` for the domain)
  non_delivery,  // accepted, and a non-delivery report is due (Authoritative domain, validation off, no
                 // such mailbox; or <Postmaster> on a server without a postmaster mailbox)
  not_accepted,  // not an accepted domain and the session may not relay: 550 5.7.1
  no_route,      // a relay domain, or any domain from a session that may relay, that no enabled send
                 // connector's AddressSpaces match: 550 5.4.4, never parked
  blocked,       // on the block list (BlockListEnabled): 550 5.1.1
  unknown_user,  // Authoritative domain, validation on, no such mailbox or alias: 550 5.1.1
};

// Whether a recipient with this verdict is accepted (250).
constexpr bool accepted(Verdict verdict) {
  return verdict == Verdict::local || verdict == Verdict::relay || verdict == Verdict::non_delivery;
}

struct Decision {
  Verdict verdict = Verdict::not_accepted;
  const store::Mailbox* mailbox = nullptr;            // local
  const store::AcceptedDomain* domain = nullptr;      // the accepted domain the address fell under, if any
  const store::SendConnector* connector = nullptr;    // relay
  const store::AddressSpace* address_space = nullptr; // relay: the entry of `connector` that matched
};

// The send connector for a domain: of the enabled connectors' AddressSpaces that match it, the most
// specific wins, then the lowest cost, then the connector whose name sorts first (so the choice is
// stable). Pure; kept apart so that the queue and test-route use exactly what RCPT uses.
class SendConnectorRoutes {
 public:
  explicit SendConnectorRoutes(const std::vector<store::SendConnector>& connectors);
  struct Match {
    const store::SendConnector* connector = nullptr;
    const store::AddressSpace* address_space = nullptr;
  };
  Match route(std::string_view domain) const;  // connector nullptr: no route

 private:
  struct Entry {
    const store::SendConnector* connector;
    const store::AddressSpace* address_space;
    int specificity;
  };
  std::vector<Entry> entries_;  // best first: the first that matches wins
};

class RecipientRouter {
 public:
  // Keeps pointers into `config`: the router must not outlive the snapshot it was built from.
  explicit RecipientRouter(const store::Configuration& config);

  // `address` is local@domain as parsed from RCPT TO. Checks, in DESIGN §5's order after syntax:
  // block list, then by domain: Authoritative (mailbox or alias), relay-type accepted domains (send
  // connector), other domains (send connector, only when `may_relay`). "postmaster@" an
  // Authoritative domain (any case) is always accepted (RFC 5321 §4.5.1): its own mailbox or alias
  // when it has one, else the server's postmaster().
  Decision check(std::string_view address, bool may_relay) const;

  // RCPT TO:<Postmaster> without a domain: always accepted (no relay or block-list check), for the
  // server's postmaster — the mailbox or alias postmaster@ the Default accepted domain when that
  // domain is Authoritative and has it, else postmaster@ the first Authoritative domain (by name) that
  // has one; with none, a non-delivery report tells the sender (nothing is kept where nobody reads it).
  Decision postmaster() const { return postmaster_; }

  const store::AcceptedDomain* accepted_domain(std::string_view domain) const;

  // The mailbox that owns `address` (primary or alias, any letter case): the AUTH user lookup.
  const store::Mailbox* find_mailbox(std::string_view address) const;

  const SendConnectorRoutes& send_connectors() const { return send_connectors_; }

 private:
  std::unordered_map<std::string, const store::Mailbox*> mailboxes_;  // lower-cased address → mailbox
  std::unordered_map<std::string, const store::AcceptedDomain*> exact_domains_;
  std::vector<const store::AcceptedDomain*> wildcard_domains_;  // "*.example.com", longest first
  std::unordered_set<std::string> blocked_;
  SendConnectorRoutes send_connectors_;
  Decision postmaster_;
  bool validation_enabled_ = true;
  bool block_list_enabled_ = false;
};

// One sentence on why `decision` was made for `address` (test-route, logs): "local delivery to the
// mailbox alice@example.com (Authoritative accepted domain example.com)".
std::string explain(const Decision& decision, std::string_view address, bool may_relay);

}  // namespace transport::routing
