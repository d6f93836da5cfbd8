// ConfigurationService: the daemon's single writer of configuration. Each admin change is applied to
// a copy of the current snapshot, validated as a whole, written in one SQLite transaction, and only
// then published as the new immutable snapshot. Readers never wait for writers.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/configuration.h"
#include "store/property.h"
#include "store/configuration_store.h"

namespace transport::config {

template <class Model>
struct Flows;

// Property changes as (Exchange name, values) pairs, in the order given.
using PropertyChanges = std::vector<std::pair<std::string, store::PropertyValues>>;

// Entries to remove from and then add to one list property (by Exchange name), applied to the list as
// it is inside the change. A removal matches an entry case-insensitively after both are normalized by
// the property (2001:DB8:0::1 matches 2001:db8::1); one that matches nothing changes nothing and warns the
// caller. An added entry already there is kept once.
struct ListEdit {
  std::string property;
  store::PropertyValues add;
  store::PropertyValues remove;
};
using ListEdits = std::vector<ListEdit>;

// A password change for a mailbox: absent = keep, empty hash = remove.
using PasswordHashChange = std::optional<std::string>;

// A change of a send connector's AuthenticationCredential password (kept as given: it is sent to the
// smart host): absent = keep, empty = remove.
using CredentialPasswordChange = std::optional<std::string>;

class ConfigurationService {
 public:
  // Loads the configuration. The host name (the HOST of HOST\Name identities) is stored once, by the
  // first start, and never changes by itself (DESIGN §3): a store without one records host_name and,
  // when it has no connector, creates "Default <host_name>" on `default_bindings`. A stored name wins
  // over host_name (the caller compares them and warns). `default_fqdn` is the Fqdn of connectors made
  // without one; empty means host_name lower-cased.
  ConfigurationService(store::ConfigurationStore& store, const std::string& host_name,
                       const std::vector<std::string>& default_bindings, const std::string& default_fqdn = "");

  store::ConfigurationPtr snapshot() const;

  // A check that needs the world outside the model (files on disk), run on a connector whose
  // TlsCertificatePath or TlsKeyPath is being set. Throws store::ValidationError to refuse the change.
  using ConnectorCheck = std::function<void(const store::ReceiveConnector&)>;
  void set_connector_check(ConnectorCheck check);
  // Called after every published change with the new snapshot (on the admin thread that made it).
  void on_change(std::function<void(const store::ConfigurationPtr&)> listener);

  // Loads the store again and publishes what it holds (listeners run): another node of a fleet changed
  // the shared store. When the store cannot be read, the snapshot served stays and false is returned
  // with `error` saying why.
  bool reload(std::string& error);

  // Identities are names or globs; an empty list means all (get only). A pattern that matches
  // nothing throws AdminError::not_found. Changes throw store::ValidationError (bad values) or
  // AdminError (missing, duplicate, conflicting); nothing is changed when anything throws. When the
  // ChangeCaller asks for a what-if, a change is validated and written in a transaction that is rolled
  // back, nothing is published, and the result is what the change would have made.
  //
  // Receive connectors belong to one server (DESIGN §12). A bare identity names this node's; "HOST\Name"
  // (HOST a glob too) names those of the fleet's servers HOST matches, and set/remove then change that
  // server's rows, checked against that server's connectors; the server applies them when it hears of
  // the change. get_connectors' `servers` (a name or glob, any case) shows those servers instead of this
  // node (a bare identity then names their connectors); one that matches no server is
  // AdminError::not_found naming the servers there are. New connectors are always this node's.
  std::vector<store::ReceiveConnector> get_connectors(const std::vector<std::string>& identities,
                                                      const std::string& servers = "") const;
  store::ReceiveConnector new_connector(const PropertyChanges& changes);
  std::vector<store::ReceiveConnector> set_connectors(const std::vector<std::string>& identities,
                                                      const PropertyChanges& changes, const ListEdits& edits = {});
  std::vector<std::string> remove_connectors(const std::vector<std::string>& identities);

  // Send connectors (DESIGN §11). When a change gives SmartHosts (a new value or list edits) and not
  // DNSRoutingEnabled, DNSRoutingEnabled follows: false with smart hosts, true without. Setting
  // AuthenticationCredential empty removes the password with it.
  std::vector<store::SendConnector> get_send_connectors(const std::vector<std::string>& identities) const;
  store::SendConnector new_send_connector(const PropertyChanges& changes, const CredentialPasswordChange& password);
  std::vector<store::SendConnector> set_send_connectors(const std::vector<std::string>& identities,
                                                        const PropertyChanges& changes,
                                                        const CredentialPasswordChange& password,
                                                        const ListEdits& edits = {});
  std::vector<std::string> remove_send_connectors(const std::vector<std::string>& identities);

  std::vector<store::AcceptedDomain> get_accepted_domains(const std::vector<std::string>& identities) const;
  store::AcceptedDomain new_accepted_domain(const PropertyChanges& changes);
  std::vector<store::AcceptedDomain> set_accepted_domains(const std::vector<std::string>& identities,
                                                          const PropertyChanges& changes,
                                                          const ListEdits& edits = {});
  std::vector<std::string> remove_accepted_domains(const std::vector<std::string>& identities);

  std::vector<store::Mailbox> get_mailboxes(const std::vector<std::string>& identities) const;
  store::Mailbox new_mailbox(const PropertyChanges& changes, const PasswordHashChange& password_hash);
  std::vector<store::Mailbox> set_mailboxes(const std::vector<std::string>& identities,
                                            const PropertyChanges& changes, const PasswordHashChange& password_hash,
                                            const ListEdits& edits = {});
  std::vector<std::string> remove_mailboxes(const std::vector<std::string>& identities);

  store::RecipientFilterConfig get_recipient_filter() const;
  store::RecipientFilterConfig set_recipient_filter(const PropertyChanges& changes, const ListEdits& edits = {});

  store::TransportServerSettings get_transport_server() const;
  store::TransportServerSettings set_transport_server(const PropertyChanges& changes);

  // The harvest defence's settings (DESIGN §10): held to their whole-object rules (Suspect thresholds
  // at most the Discredit ones); ExemptRemoteIPRanges takes list edits.
  store::HarvestDefenceConfig get_harvest_defence() const;
  store::HarvestDefenceConfig set_harvest_defence(const PropertyChanges& changes, const ListEdits& edits = {});

  // Every rule a change is held to, applied to a whole configuration as stored (--check-config, and
  // start-up, which logs them): one sentence per object that breaks a rule, naming the object, or
  // none. `connector_check`, when given, runs on every connector with a TlsCertificatePath.
  static std::vector<std::string> problems(const store::Configuration& config,
                                           const ConnectorCheck& connector_check = {});

  // The servers whose receive connectors the configuration holds: this node first, then the fleet's
  // others by name (only this node with SQLite).
  static std::vector<std::string> servers(const store::Configuration& config);
  // The server a receive connector of `config` belongs to, found by its id (the store's key, unique
  // across servers); this node for one held by no other server (a new one).
  static std::string server_of(const store::Configuration& config, const store::ReceiveConnector& connector);

  // Identity as shown to the administrator: HOST\Name for receive connectors (HOST their server), Name
  // for send connectors and accepted domains, PrimarySmtpAddress for mailboxes.
  static std::string identity(const store::Configuration& config, const store::ReceiveConnector& connector);
  static std::string identity(const store::Configuration& config, const store::SendConnector& connector);
  static std::string identity(const store::Configuration& config, const store::AcceptedDomain& domain);
  static std::string identity(const store::Configuration& config, const store::Mailbox& mailbox);

 private:
  template <class Model>
  friend struct Flows;

  // With writer_mutex_ held: `persist` writes what changed in one transaction, then `next` becomes
  // the published snapshot, which is returned. Nothing is published when persist throws. For a
  // what-if the transaction is rolled back and `next` is returned unpublished.
  store::ConfigurationPtr commit_locked(store::Configuration& next,
                                        const std::function<void(store::StoreTransaction&)>& persist);
  // Runs a change; when the store says another node changed it since the snapshot, loads the latest and
  // runs the change again (a few times at most).
  template <class Change>
  auto retrying(Change change) -> decltype(change());
  // Singleton objects (the recipient filter, the transport server's and the harvest defence's settings):
  // apply, check, persist, publish.
  template <class Model>
  Model set_singleton(Model store::Configuration::*member, const PropertyChanges& changes, const ListEdits& edits);

  store::ConfigurationStore& store_;
  const std::string default_fqdn_;
  mutable std::mutex snapshot_mutex_;  // guards snapshot_ only: readers copy the pointer and go
  store::ConfigurationPtr snapshot_;
  std::mutex writer_mutex_;  // one admin change at a time
  std::vector<std::function<void(const store::ConfigurationPtr&)>> listeners_;
  ConnectorCheck connector_check_;
};

}  // namespace transport::config
