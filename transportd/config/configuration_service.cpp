// ConfigurationService: apply, validate as a whole, persist in one transaction, publish. The per-model
// rules (required properties, uniqueness, conflicts) live in the Collection traits below; the flow is
// written once for all models.
#include "transportd/config/configuration_service.h"

#include "transportd/config/change_caller.h"

#include <algorithm>
#include <span>
#include <type_traits>
#include <unordered_map>

#include "store/binding_conflicts.h"
#include "store/harvest_defence_validation.h"
#include "store/text_util.h"
#include "store/value_error.h"
#include "transportd/config/admin_error.h"
#include "transportd/config/identity_match.h"

namespace transport::config {

using store::AcceptedDomain;
using store::Configuration;
using store::Mailbox;
using store::ReceiveConnector;
using store::SendConnector;
using store::ValidationError;

template <class Model>
struct Collection;

// Runs one object's rules (the function) and records what they throw, naming the object (the identity).
using ProblemReport = std::function<void(const std::string& identity, const std::function<void()>& rules)>;

// Where an object is: which of its model's lists (receive connectors keep one per server, DESIGN §12;
// every other model one, organisation-wide) and where in it.
struct Place {
  std::size_t group = 0;
  std::size_t index = 0;
};

template <>
struct Collection<ReceiveConnector> {
  static constexpr const char* noun = "receive connector";
  static auto table() { return store::receive_connector_properties(); }
  static std::vector<ReceiveConnector>& items(Configuration& c) { return c.connectors; }
  static const std::vector<ReceiveConnector>& items(const Configuration& c) { return c.connectors; }
  // One list per server: this node's (group 0: the connectors it listens with), then the fleet's others.
  static std::size_t groups(const Configuration& c) { return 1 + c.other_servers.size(); }
  static std::vector<ReceiveConnector>& items(Configuration& c, std::size_t group) {
    return group == 0 ? c.connectors : c.other_servers[group - 1].connectors;
  }
  static const std::vector<ReceiveConnector>& items(const Configuration& c, std::size_t group) {
    return group == 0 ? c.connectors : c.other_servers[group - 1].connectors;
  }
  static const std::string& server(const Configuration& c, std::size_t group) {
    return group == 0 ? c.host_name : c.other_servers[group - 1].server;
  }
  static bool matches(const Configuration& c, std::size_t group, const ReceiveConnector& m, std::string_view pattern) {
    return identity_matches(pattern, server(c, group), m.name);
  }
  static void check_alone(const ReceiveConnector& c) {
    if (c.name.empty()) throw ValidationError("Name", "Name is required");
    store::validate(c);
  }
  // Name uniqueness and the Binding uniqueness rule against `others` (which may hold `c` itself).
  static void check_against(std::span<const ReceiveConnector> others, const ReceiveConnector& c) {
    for (const ReceiveConnector& other : others) {
      if (&other != &c && store::iequals(other.name, c.name)) {
        throw AdminError(AdminError::Kind::already_exists, "a receive connector named \"" + other.name +
                                                               "\" already exists");
      }
    }
    if (auto conflict = store::find_binding_conflict(others, c)) {
      throw AdminError(AdminError::Kind::conflict, "receive connector \"" + c.name + "\": " + *conflict);
    }
  }
  // Names and Bindings are per server: a connector is held to its own server's connectors.
  static void check(const Configuration& next, Place at) {
    const auto& list = items(next, at.group);
    check_alone(list[at.index]);
    check_against(list, list[at.index]);
  }
  // Each against the ones before it, so that a clash is reported once.
  static void check_all(const Configuration& config, const ProblemReport& report) {
    const auto& all = config.connectors;
    for (std::size_t i = 0; i < all.size(); ++i) {
      report(store::connector_identity(config.host_name, all[i]), [&] {
        check_alone(all[i]);
        check_against(std::span(all.data(), i), all[i]);
      });
    }
  }
  static std::vector<std::size_t> settle(Configuration&, std::size_t) { return {}; }
  static void remove(store::StoreTransaction& t, const ReceiveConnector& m) { t.remove_connector(m.id); }
};

template <>
struct Collection<SendConnector> {
  static constexpr const char* noun = "send connector";
  static auto table() { return store::send_connector_properties(); }
  static std::vector<SendConnector>& items(Configuration& c) { return c.send_connectors; }
  static const std::vector<SendConnector>& items(const Configuration& c) { return c.send_connectors; }
  static bool matches(const Configuration&, std::size_t, const SendConnector& m, std::string_view pattern) {
    return identity_matches(pattern, "", m.name);
  }
  static constexpr std::size_t kMaxPasswordLength = 1024;  // as a mailbox's
  static void check_alone(const SendConnector& c) {
    if (c.name.empty()) throw ValidationError("Name", "Name is required");
    store::validate(c);
    if (!c.auth_password.empty() && c.auth_user.empty()) {
      throw ValidationError("AuthenticationCredential",
                            "a password is set but AuthenticationCredential has no user name: give the user name, or "
                            "remove the password");
    }
    if (c.auth_password.size() > kMaxPasswordLength) {
      throw ValidationError("AuthenticationCredential",
                            "AuthenticationCredential's password is longer than 1024 characters");
    }
    // AUTH PLAIN separates the user and the password by NULs, and SMTP lines end at CRLF: those
    // characters cannot be sent.
    if (c.auth_password.find_first_of(std::string_view("\0\r\n", 3)) != std::string::npos) {
      throw ValidationError("AuthenticationCredential",
                            "AuthenticationCredential's password may not contain NUL, CR or LF");
    }
  }
  static void check_against(std::span<const SendConnector> others, const SendConnector& c) {
    for (const SendConnector& other : others) {
      if (&other != &c && store::iequals(other.name, c.name)) {
        throw AdminError(AdminError::Kind::already_exists, "a send connector named \"" + other.name +
                                                               "\" already exists");
      }
    }
  }
  static void check(const Configuration& next, Place at) {
    check_alone(next.send_connectors[at.index]);
    check_against(next.send_connectors, next.send_connectors[at.index]);
  }
  static void check_all(const Configuration& config, const ProblemReport& report) {
    const auto& all = config.send_connectors;
    for (std::size_t i = 0; i < all.size(); ++i) {
      report(all[i].name, [&] {
        check_alone(all[i]);
        check_against(std::span(all.data(), i), all[i]);
      });
    }
  }
  static std::vector<std::size_t> settle(Configuration&, std::size_t) { return {}; }
  static void remove(store::StoreTransaction& t, const SendConnector& m) { t.remove_send_connector(m.id); }
};

template <>
struct Collection<AcceptedDomain> {
  static constexpr const char* noun = "accepted domain";
  static auto table() { return store::accepted_domain_properties(); }
  static std::vector<AcceptedDomain>& items(Configuration& c) { return c.accepted_domains; }
  static const std::vector<AcceptedDomain>& items(const Configuration& c) { return c.accepted_domains; }
  static bool matches(const Configuration&, std::size_t, const AcceptedDomain& m, std::string_view pattern) {
    return identity_matches(pattern, "", m.name);
  }
  static void check_alone(const AcceptedDomain& d) {
    if (d.name.empty()) throw ValidationError("Name", "Name is required");
    if (d.domain_name.empty()) throw ValidationError("DomainName", "DomainName is required, e.g. example.com");
  }
  static void check_against(std::span<const AcceptedDomain> others, const AcceptedDomain& d) {
    for (const AcceptedDomain& other : others) {
      if (&other == &d) continue;
      if (store::iequals(other.name, d.name)) {
        throw AdminError(AdminError::Kind::already_exists, "an accepted domain named \"" + other.name + "\" already exists");
      }
      if (store::iequals(other.domain_name, d.domain_name)) {
        throw AdminError(AdminError::Kind::already_exists,
                         "DomainName " + d.domain_name + " is already accepted by \"" + other.name + "\"");
      }
    }
  }
  static void check(const Configuration& next, Place at) {
    check_alone(next.accepted_domains[at.index]);
    check_against(next.accepted_domains, next.accepted_domains[at.index]);
  }
  // Each against the ones before it; settle() keeps a single default, so a second one is a problem.
  static void check_all(const Configuration& config, const ProblemReport& report) {
    const auto& all = config.accepted_domains;
    const AcceptedDomain* the_default = nullptr;
    for (std::size_t i = 0; i < all.size(); ++i) {
      report(all[i].name, [&] {
        check_alone(all[i]);
        check_against(std::span(all.data(), i), all[i]);
        if (!all[i].is_default) return;
        if (the_default != nullptr) {
          throw ValidationError("Default", "Default is true, but \"" + the_default->name +
                                               "\" is the default already: only one accepted domain may be");
        }
        the_default = &all[i];
      });
    }
  }
  // At most one default: making one the default clears the others, as Set-AcceptedDomain -MakeDefault.
  static std::vector<std::size_t> settle(Configuration& next, std::size_t index) {
    std::vector<std::size_t> cleared;
    if (!next.accepted_domains[index].is_default) return cleared;
    for (std::size_t i = 0; i < next.accepted_domains.size(); ++i) {
      if (i != index && next.accepted_domains[i].is_default) {
        next.accepted_domains[i].is_default = false;
        cleared.push_back(i);
      }
    }
    return cleared;
  }
  static void remove(store::StoreTransaction& t, const AcceptedDomain& m) { t.remove_accepted_domain(m.id); }
};

template <>
struct Collection<Mailbox> {
  static constexpr const char* noun = "mailbox";
  static auto table() { return store::mailbox_properties(); }
  static std::vector<Mailbox>& items(Configuration& c) { return c.mailboxes; }
  static const std::vector<Mailbox>& items(const Configuration& c) { return c.mailboxes; }
  static bool matches(const Configuration&, std::size_t, const Mailbox& m, std::string_view pattern) {
    return identity_matches(pattern, "", m.primary_smtp_address);
  }
  // Every address (primary and aliases) and the mailbox it belongs to.
  using Owners = std::unordered_map<std::string, const Mailbox*>;
  static void add_owner(Owners& owners, const Mailbox& m) {
    owners.emplace(store::address_key(m.primary_smtp_address), &m);
    for (const auto& alias : m.email_addresses) owners.emplace(store::address_key(alias), &m);
  }
  static void check_alone(const Mailbox& m) {
    if (m.primary_smtp_address.empty()) {
      throw ValidationError("PrimarySmtpAddress", "PrimarySmtpAddress is required, e.g. alice@example.com");
    }
    // Mail is delivered to DATA_DIR/mailboxes/<PrimarySmtpAddress>/ (aliases are never paths).
    if (std::string problem = store::mailbox_directory_problem(m.primary_smtp_address); !problem.empty()) {
      throw ValidationError("PrimarySmtpAddress", "PrimarySmtpAddress " + m.primary_smtp_address +
                                                      " cannot name the mailbox's directory: " + problem);
    }
  }
  static void check_free(const Owners& owners, const Mailbox& m) {
    auto check_address = [&](const std::string& address) {
      auto it = owners.find(store::address_key(address));
      if (it != owners.end()) {
        throw AdminError(AdminError::Kind::already_exists,
                         "address " + address + " already belongs to mailbox " + it->second->primary_smtp_address);
      }
    };
    check_address(m.primary_smtp_address);
    for (const auto& alias : m.email_addresses) check_address(alias);
  }
  static void check(const Configuration& next, Place at) {
    check_alone(next.mailboxes[at.index]);
    Owners owners;
    for (std::size_t i = 0; i < next.mailboxes.size(); ++i) {
      if (i != at.index) add_owner(owners, next.mailboxes[i]);
    }
    check_free(owners, next.mailboxes[at.index]);
  }
  static void check_all(const Configuration& config, const ProblemReport& report) {
    Owners owners;
    for (const Mailbox& m : config.mailboxes) {
      report(m.primary_smtp_address, [&] {
        check_alone(m);
        check_free(owners, m);
      });
      add_owner(owners, m);
    }
  }
  // An alias equal to the primary address, or given twice, is kept once.
  static std::vector<std::size_t> settle(Configuration& next, std::size_t index) {
    Mailbox& m = next.mailboxes[index];
    std::vector<std::string> unique;
    std::vector<std::string> keys{store::address_key(m.primary_smtp_address)};
    for (const auto& alias : m.email_addresses) {
      std::string key = store::address_key(alias);
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
      keys.push_back(key);
      unique.push_back(alias);
    }
    m.email_addresses = std::move(unique);
    return {};
  }
  static void remove(store::StoreTransaction& t, const Mailbox& m) { t.remove_mailbox(m.id); }
};

// Singletons: check() holds one to its whole-object rules, after each change and in problems().
template <>
struct Collection<store::RecipientFilterConfig> {
  static constexpr const char* noun = "recipient filter";
  static auto table() { return store::recipient_filter_properties(); }
  static void check(const store::RecipientFilterConfig&) {}
};

template <>
struct Collection<store::TransportServerSettings> {
  static constexpr const char* noun = "transport server";
  static auto table() { return store::transport_server_properties(); }
  static void check(const store::TransportServerSettings&) {}
};

template <>
struct Collection<store::HarvestDefenceConfig> {
  static constexpr const char* noun = "harvest defence configuration";
  static auto table() { return store::harvest_defence_properties(); }
  static void check(const store::HarvestDefenceConfig& config) { store::validate(config); }
};

namespace {

template <class Model>
void apply(Model& model, const PropertyChanges& changes) {
  for (const auto& [name, values] : changes) {
    const store::Property<Model>* property = store::find_property(Collection<Model>::table(), name);
    if (property == nullptr) throw ValidationError(name, name + " is not a property of a " + Collection<Model>::noun);
    property->assign(model, values);
  }
}

// The entry as the property shows it (2001:DB8:0::1 -> 2001:db8::1), or the trimmed text when it is not a
// valid entry on its own: it then matches nothing.
template <class Model>
std::string normalized_entry(const store::Property<Model>& property, const Model& model, const std::string& entry) {
  Model scratch = model;
  try {
    property.assign(scratch, {entry});
    store::PropertyValues shown = property.render(scratch);
    if (shown.size() == 1) return shown.front();
  } catch (const ValidationError&) {
  }
  return std::string(store::trim(entry));
}

bool contains_entry(const store::PropertyValues& list, const std::string& entry) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& e) { return store::iequals(e, entry); });
}

// "None" is how the flag lists (PermissionGroups, AuthMechanism) write the empty list.
bool is_empty_marker(const store::PropertyValues& list) { return list.size() == 1 && store::iequals(list[0], "None"); }

template <class Model>
void apply_edits(Model& model, const ListEdits& edits, const std::string& identity) {
  for (const ListEdit& edit : edits) {
    const store::Property<Model>* property = store::find_property(Collection<Model>::table(), edit.property);
    if (property == nullptr) {
      throw ValidationError(edit.property, edit.property + " is not a property of a " + Collection<Model>::noun);
    }
    const std::string name(property->name);
    if (property->kind != store::PropertyKind::list) {
      throw ValidationError(name, name + " is not a list: give it a whole new value instead of entries to add or remove");
    }
    store::PropertyValues list = property->render(model);
    if (is_empty_marker(list)) list.clear();
    for (const std::string& entry : edit.remove) {
      const std::string normalized = normalized_entry(*property, model, entry);
      const auto kept = std::remove_if(list.begin(), list.end(),
                                       [&](const std::string& e) { return store::iequals(e, normalized); });
      if (kept == list.end()) {
        ChangeCaller::warn(name + " of " + identity + " has no entry \"" + normalized + "\" to remove");
      }
      list.erase(kept, list.end());
    }
    for (const std::string& entry : edit.add) {
      const std::string normalized = normalized_entry(*property, model, entry);
      if (!contains_entry(list, normalized)) list.push_back(entry);
    }
    if (list.empty()) {
      // An emptied flag list is None; other lists are simply empty.
      try {
        property->assign(model, {});
        continue;
      } catch (const ValidationError&) {
        list = {"None"};
      }
    }
    property->assign(model, list);
  }
}

// Receive connectors keep one list per server (Collection::items(config, group)); every other model one.
template <class Model>
constexpr bool kPerServer = std::is_same_v<Model, ReceiveConnector>;

template <class Model>
std::size_t group_count(const Configuration& config) {
  if constexpr (kPerServer<Model>) return Collection<Model>::groups(config);
  return 1;
}

template <class Model>
const std::vector<Model>& items_in(const Configuration& config, [[maybe_unused]] std::size_t group) {
  if constexpr (kPerServer<Model>) return Collection<Model>::items(config, group);
  return Collection<Model>::items(config);
}

template <class Model>
std::vector<Model>& items_in(Configuration& config, [[maybe_unused]] std::size_t group) {
  if constexpr (kPerServer<Model>) return Collection<Model>::items(config, group);
  return Collection<Model>::items(config);
}

template <class Model>
Model& item_at(Configuration& config, Place at) {
  return items_in<Model>(config, at.group)[at.index];
}

// Which of a model's lists a request looks in: a "HOST\Name" pattern in the `searched` ones, a bare
// pattern in the `bare` ones; a request without patterns lists the `bare` ones whole.
struct Scope {
  std::vector<bool> searched;
  std::vector<bool> bare;
};

// Every list; a bare name only this node's (group 0).
template <class Model>
Scope default_scope(const Configuration& config) {
  Scope scope{std::vector<bool>(group_count<Model>(config), true), std::vector<bool>(group_count<Model>(config), false)};
  scope.bare[0] = true;
  return scope;
}

// get_connectors' `servers`: only the servers it names (a name or glob, any case), a bare name too.
Scope server_scope(const Configuration& config, const std::string& servers) {
  const std::vector<std::string> known = ConfigurationService::servers(config);
  std::vector<bool> chosen(known.size(), false);
  for (std::size_t i = 0; i < known.size(); ++i) chosen[i] = store::glob_match(servers, known[i]);
  if (std::find(chosen.begin(), chosen.end(), true) == chosen.end()) {
    std::string names;
    for (const std::string& name : known) names += (names.empty() ? "" : ", ") + name;
    throw AdminError(AdminError::Kind::not_found, "no server matches \"" + servers + "\": " +
                                                      (known.size() == 1 ? "the only server is " : "the servers are ") +
                                                      names);
  }
  return Scope{chosen, chosen};
}

// The objects the patterns name, in list order. Empty patterns: all the scope lists, if allowed.
template <class Model>
std::vector<Place> resolve(const Configuration& config, const std::vector<std::string>& patterns,
                           bool empty_means_all, const Scope& scope) {
  if (patterns.empty() && !empty_means_all) {
    throw ValidationError("Identity", std::string("give the identity of at least one ") + Collection<Model>::noun);
  }
  std::vector<Place> places;
  std::vector<bool> chosen;
  for (std::size_t group = 0; group < group_count<Model>(config); ++group) {
    for (std::size_t index = 0; index < items_in<Model>(config, group).size(); ++index) {
      places.push_back(Place{group, index});
      chosen.push_back(patterns.empty() && scope.bare[group]);
    }
  }
  for (const std::string& pattern : patterns) {
    const std::vector<bool>& looked_in = names_host(pattern) ? scope.searched : scope.bare;
    bool found = false;
    for (std::size_t k = 0; k < places.size(); ++k) {
      const Place at = places[k];
      if (looked_in[at.group] &&
          Collection<Model>::matches(config, at.group, items_in<Model>(config, at.group)[at.index], pattern)) {
        chosen[k] = found = true;
      }
    }
    if (!found) {
      throw AdminError(AdminError::Kind::not_found,
                       std::string("no ") + Collection<Model>::noun + " matches \"" + pattern + "\"");
    }
  }
  std::vector<Place> out;
  for (std::size_t k = 0; k < places.size(); ++k) {
    if (chosen[k]) out.push_back(places[k]);
  }
  return out;
}

template <class Model>
std::vector<Model> pick(const Configuration& config, const std::vector<Place>& places) {
  std::vector<Model> out;
  out.reserve(places.size());
  for (const Place at : places) out.push_back(items_in<Model>(config, at.group)[at.index]);
  return out;
}

}  // namespace

// The generic flows, as members of a friend so they can reach commit().
template <class Model>
struct Flows {
  static void run_external_check(const ConfigurationService& service, const Model& model,
                                 const PropertyChanges& changes) {
    if constexpr (std::is_same_v<Model, ReceiveConnector>) {
      if (!service.connector_check_) return;
      for (const auto& [name, values] : changes) {
        if (store::iequals(name, "TlsCertificatePath") || store::iequals(name, "TlsKeyPath")) {
          service.connector_check_(model);
          return;
        }
      }
    }
  }

  // Properties that follow what the administrator gave: a send connector's DNSRoutingEnabled follows
  // SmartHosts (given as a new value or list edits) unless it is given too.
  static void follow(Model& model, const PropertyChanges& changes, const ListEdits& edits) {
    if constexpr (std::is_same_v<Model, SendConnector>) {
      const auto given = [&](std::string_view name) {
        const auto is_named = [&](const std::string& property) { return store::iequals(property, name); };
        return std::any_of(changes.begin(), changes.end(), [&](const auto& c) { return is_named(c.first); }) ||
               std::any_of(edits.begin(), edits.end(), [&](const ListEdit& e) { return is_named(e.property); });
      };
      if (given("SmartHosts") && !given("DNSRoutingEnabled")) model.dns_routing_enabled = model.smart_hosts.empty();
    }
  }

  static std::vector<Model> get(const ConfigurationService& service, const std::vector<std::string>& identities,
                                const std::string& servers = {}) {
    store::ConfigurationPtr config = service.snapshot();
    Scope scope = default_scope<Model>(*config);
    if constexpr (kPerServer<Model>) {
      if (!servers.empty()) scope = server_scope(*config, servers);
    }
    return pick<Model>(*config, resolve<Model>(*config, identities, true, scope));
  }

  static Model create(ConfigurationService& service, Model model, const PropertyChanges& changes) {
    std::lock_guard lock(service.writer_mutex_);
    Configuration next = *service.snapshot();
    apply(model, changes);
    follow(model, changes, {});
    auto& items = Collection<Model>::items(next);
    items.push_back(std::move(model));
    const std::size_t index = items.size() - 1;
    std::vector<std::size_t> touched = Collection<Model>::settle(next, index);
    Collection<Model>::check(next, Place{0, index});
    run_external_check(service, items[index], changes);
    const store::ConfigurationPtr result = service.commit_locked(next, [&](store::StoreTransaction& t) {
      for (std::size_t i : touched) t.put(items[i]);
      t.put(items[index]);
    });
    return Collection<Model>::items(*result)[index];
  }

  static std::vector<Model> update(ConfigurationService& service, const std::vector<std::string>& identities,
                                   const PropertyChanges& changes, const ListEdits& edits,
                                   const std::function<void(Model&)>& extra_change = {}) {
    std::lock_guard lock(service.writer_mutex_);
    Configuration next = *service.snapshot();
    const std::vector<Place> places = resolve<Model>(next, identities, false, default_scope<Model>(next));
    std::vector<std::size_t> touched;  // settle() keeps to the organisation-wide lists: group 0
    for (const Place at : places) {
      Model& item = item_at<Model>(next, at);
      apply(item, changes);
      apply_edits(item, edits, ConfigurationService::identity(next, item));
      follow(item, changes, edits);
      if (extra_change) extra_change(item);
      for (std::size_t t : Collection<Model>::settle(next, at.index)) touched.push_back(t);
    }
    for (const Place at : places) {
      Collection<Model>::check(next, at);
      // Another server's files are on that server, not here: it judges them when it loads the change.
      if (at.group == 0) run_external_check(service, item_at<Model>(next, at), changes);
    }
    const store::ConfigurationPtr result = service.commit_locked(next, [&](store::StoreTransaction& t) {
      for (std::size_t i : touched) t.put(Collection<Model>::items(next)[i]);
      for (const Place at : places) t.put(item_at<Model>(next, at));
    });
    return pick<Model>(*result, places);
  }

  static std::vector<std::string> remove(ConfigurationService& service, const std::vector<std::string>& identities) {
    std::lock_guard lock(service.writer_mutex_);
    Configuration next = *service.snapshot();
    const std::vector<Place> places = resolve<Model>(next, identities, false, default_scope<Model>(next));
    std::vector<std::string> removed;
    std::vector<Model> doomed;
    // From the last: an erase leaves the places before it where they were.
    for (auto at = places.rbegin(); at != places.rend(); ++at) {
      removed.insert(removed.begin(), ConfigurationService::identity(next, item_at<Model>(next, *at)));
      doomed.push_back(std::move(item_at<Model>(next, *at)));
      auto& list = items_in<Model>(next, at->group);
      list.erase(list.begin() + static_cast<std::ptrdiff_t>(at->index));
    }
    service.commit_locked(next, [&](store::StoreTransaction& t) {
      for (const Model& m : doomed) Collection<Model>::remove(t, m);
    });
    return removed;
  }
};

ConfigurationService::ConfigurationService(store::ConfigurationStore& store, const std::string& host_name,
                                           const std::vector<std::string>& default_bindings,
                                           const std::string& default_fqdn)
    : store_(store), default_fqdn_(default_fqdn.empty() ? store::to_lower(host_name) : default_fqdn) {
  Configuration config = store_.load();
  // No stored name: the first start (or one that stopped before it finished), or a database from before
  // host names were kept. The name and the default connector are written together.
  if (config.host_name.empty()) {
    const bool first_start = config.connectors.empty();
    store::ReceiveConnector connector;
    if (first_start) {
      connector.fqdn = default_fqdn_;
      apply(connector, {{"Name", {"Default " + host_name}}, {"Bindings", default_bindings}});
      store::validate(connector);
    }
    store_.transact([&](store::StoreTransaction& t) {
      t.set_host_name(host_name);
      if (first_start) t.put(connector);
    });
    config = store_.load();
  }
  snapshot_ = std::make_shared<const Configuration>(std::move(config));
}

std::vector<std::string> ConfigurationService::problems(const Configuration& config,
                                                        const ConnectorCheck& connector_check) {
  std::vector<std::string> found;
  auto report_as = [&found](std::string_view noun) -> ProblemReport {
    return [&found, noun](const std::string& identity, const std::function<void()>& rules) {
      try {
        rules();
      } catch (const ValidationError& e) {
        found.push_back(std::string(noun) + " \"" + identity + "\": " + e.what());
      } catch (const AdminError& e) {
        found.push_back(std::string(noun) + " \"" + identity + "\": " + e.what());
      }
    };
  };
  Collection<ReceiveConnector>::check_all(config, report_as(Collection<ReceiveConnector>::noun));
  if (connector_check) {
    const ProblemReport report = report_as(Collection<ReceiveConnector>::noun);
    for (const ReceiveConnector& c : config.connectors) {
      if (!c.tls_certificate_path.empty()) {
        report(store::connector_identity(config.host_name, c), [&] { connector_check(c); });
      }
    }
  }
  Collection<SendConnector>::check_all(config, report_as(Collection<SendConnector>::noun));
  Collection<AcceptedDomain>::check_all(config, report_as(Collection<AcceptedDomain>::noun));
  Collection<Mailbox>::check_all(config, report_as(Collection<Mailbox>::noun));
  try {
    Collection<store::HarvestDefenceConfig>::check(config.harvest_defence);
  } catch (const ValidationError& e) {
    found.push_back(std::string(Collection<store::HarvestDefenceConfig>::noun) + ": " + e.what());
  }
  return found;
}

bool ConfigurationService::reload(std::string& error) {
  std::lock_guard lock(writer_mutex_);
  Configuration loaded;
  try {
    loaded = store_.load();
  } catch (const store::StoreError& e) {
    error = e.what();
    return false;
  }
  auto published = std::make_shared<const Configuration>(std::move(loaded));
  {
    std::lock_guard snapshot_lock(snapshot_mutex_);
    snapshot_ = published;
  }
  for (const auto& listener : listeners_) listener(published);
  return true;
}

template <class Change>
auto ConfigurationService::retrying(Change change) -> decltype(change()) {
  // Another node's change since our snapshot: take the latest and compute this change again, so it is
  // validated against what the store holds now (a name just taken elsewhere is refused as taken).
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    try {
      return change();
    } catch (const store::StaleConfiguration& e) {
      std::string error;
      if (attempt == kAttempts) {
        throw AdminError(AdminError::Kind::conflict, std::string("the change was not applied: ") + e.what() +
                                                         ", and again on every one of " + std::to_string(kAttempts) +
                                                         " attempts; try again");
      }
      if (!reload(error)) throw store::StoreError(error);
    }
  }
}

store::ConfigurationPtr ConfigurationService::snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

void ConfigurationService::set_connector_check(ConnectorCheck check) {
  std::lock_guard lock(writer_mutex_);
  connector_check_ = std::move(check);
}

void ConfigurationService::on_change(std::function<void(const store::ConfigurationPtr&)> listener) {
  std::lock_guard lock(writer_mutex_);
  listeners_.push_back(std::move(listener));
}

store::ConfigurationPtr ConfigurationService::commit_locked(
    Configuration& next, const std::function<void(store::StoreTransaction&)>& persist) {
  if (ChangeCaller::gave_up()) {
    throw AdminError(AdminError::Kind::abandoned,
                     "the change was not applied: its caller gave up (deadline exceeded) before it could be committed");
  }
  if (ChangeCaller::what_if()) {
    // The writes run too, so that the database's own constraints judge a what-if like the real change.
    struct RollBack {};
    try {
      store_.transact(
          [&](store::StoreTransaction& t) {
            persist(t);
            throw RollBack{};
          },
          next.version);
    } catch (const RollBack&) {
    }
    return std::make_shared<const Configuration>(std::move(next));
  }
  next.version = store_.transact(persist, next.version);
  auto published = std::make_shared<const Configuration>(std::move(next));
  {
    std::lock_guard lock(snapshot_mutex_);
    snapshot_ = published;
  }
  for (const auto& listener : listeners_) listener(published);
  return published;
}

std::vector<std::string> ConfigurationService::servers(const Configuration& config) {
  std::vector<std::string> names{config.host_name};
  for (const store::ServerConnectors& other : config.other_servers) names.push_back(other.server);
  return names;
}

std::string ConfigurationService::server_of(const Configuration& config, const ReceiveConnector& connector) {
  for (const store::ServerConnectors& other : config.other_servers) {
    for (const ReceiveConnector& c : other.connectors) {
      if (connector.id != 0 && c.id == connector.id) return other.server;
    }
  }
  return config.host_name;
}

std::string ConfigurationService::identity(const Configuration& config, const ReceiveConnector& connector) {
  return store::connector_identity(server_of(config, connector), connector);
}
std::string ConfigurationService::identity(const Configuration&, const SendConnector& connector) {
  return connector.name;
}
std::string ConfigurationService::identity(const Configuration&, const AcceptedDomain& domain) { return domain.name; }
std::string ConfigurationService::identity(const Configuration&, const Mailbox& mailbox) {
  return mailbox.primary_smtp_address;
}

std::vector<ReceiveConnector> ConfigurationService::get_connectors(const std::vector<std::string>& identities,
                                                                   const std::string& servers) const {
  return Flows<ReceiveConnector>::get(*this, identities, servers);
}

ReceiveConnector ConfigurationService::new_connector(const PropertyChanges& changes) {
  ReceiveConnector connector;
  connector.fqdn = default_fqdn_;
  return retrying([&] { return Flows<ReceiveConnector>::create(*this, connector, changes); });
}

std::vector<ReceiveConnector> ConfigurationService::set_connectors(const std::vector<std::string>& identities,
                                                                   const PropertyChanges& changes,
                                                                   const ListEdits& edits) {
  return retrying([&] { return Flows<ReceiveConnector>::update(*this, identities, changes, edits); });
}

std::vector<std::string> ConfigurationService::remove_connectors(const std::vector<std::string>& identities) {
  return retrying([&] { return Flows<ReceiveConnector>::remove(*this, identities); });
}

std::vector<SendConnector> ConfigurationService::get_send_connectors(const std::vector<std::string>& identities) const {
  return Flows<SendConnector>::get(*this, identities);
}

SendConnector ConfigurationService::new_send_connector(const PropertyChanges& changes,
                                                       const CredentialPasswordChange& password) {
  SendConnector connector;
  if (password) connector.auth_password = *password;
  return retrying([&] { return Flows<SendConnector>::create(*this, connector, changes); });
}

std::vector<SendConnector> ConfigurationService::set_send_connectors(const std::vector<std::string>& identities,
                                                                     const PropertyChanges& changes,
                                                                     const CredentialPasswordChange& password,
                                                                     const ListEdits& edits) {
  const bool credential_given = std::any_of(changes.begin(), changes.end(), [](const auto& change) {
    return store::iequals(change.first, "AuthenticationCredential");
  });
  return retrying([&] { return Flows<SendConnector>::update(*this, identities, changes, edits, [&](SendConnector& c) {
    if (password) {
      c.auth_password = *password;
    } else if (credential_given && c.auth_user.empty()) {
      c.auth_password.clear();  // no user name, no credential: the password goes with it
    }
  }); });
}

std::vector<std::string> ConfigurationService::remove_send_connectors(const std::vector<std::string>& identities) {
  return retrying([&] { return Flows<SendConnector>::remove(*this, identities); });
}

std::vector<AcceptedDomain> ConfigurationService::get_accepted_domains(const std::vector<std::string>& identities) const {
  return Flows<AcceptedDomain>::get(*this, identities);
}

AcceptedDomain ConfigurationService::new_accepted_domain(const PropertyChanges& changes) {
  return retrying([&] { return Flows<AcceptedDomain>::create(*this, AcceptedDomain{}, changes); });
}

std::vector<AcceptedDomain> ConfigurationService::set_accepted_domains(const std::vector<std::string>& identities,
                                                                       const PropertyChanges& changes,
                                                                       const ListEdits& edits) {
  return retrying([&] { return Flows<AcceptedDomain>::update(*this, identities, changes, edits); });
}

std::vector<std::string> ConfigurationService::remove_accepted_domains(const std::vector<std::string>& identities) {
  return retrying([&] { return Flows<AcceptedDomain>::remove(*this, identities); });
}

std::vector<Mailbox> ConfigurationService::get_mailboxes(const std::vector<std::string>& identities) const {
  return Flows<Mailbox>::get(*this, identities);
}

Mailbox ConfigurationService::new_mailbox(const PropertyChanges& changes, const PasswordHashChange& password_hash) {
  Mailbox mailbox;
  if (password_hash) mailbox.password_hash = *password_hash;
  return retrying([&] { return Flows<Mailbox>::create(*this, mailbox, changes); });
}

std::vector<Mailbox> ConfigurationService::set_mailboxes(const std::vector<std::string>& identities,
                                                         const PropertyChanges& changes,
                                                         const PasswordHashChange& password_hash,
                                                         const ListEdits& edits) {
  return retrying([&] { return Flows<Mailbox>::update(*this, identities, changes, edits, [&](Mailbox& m) {
    if (password_hash) m.password_hash = *password_hash;
  }); });
}

std::vector<std::string> ConfigurationService::remove_mailboxes(const std::vector<std::string>& identities) {
  return retrying([&] { return Flows<Mailbox>::remove(*this, identities); });
}

store::RecipientFilterConfig ConfigurationService::get_recipient_filter() const { return snapshot()->recipient_filter; }

template <class Model>
Model ConfigurationService::set_singleton(Model Configuration::*member, const PropertyChanges& changes,
                                          const ListEdits& edits) {
  std::lock_guard lock(writer_mutex_);
  Configuration next = *snapshot();
  apply(next.*member, changes);
  apply_edits(next.*member, edits, Collection<Model>::noun);
  Collection<Model>::check(next.*member);
  Model result = next.*member;
  commit_locked(next, [&](store::StoreTransaction& t) { t.put(result); });
  return result;
}

store::RecipientFilterConfig ConfigurationService::set_recipient_filter(const PropertyChanges& changes,
                                                                        const ListEdits& edits) {
  return retrying([&] { return set_singleton(&Configuration::recipient_filter, changes, edits); });
}

store::TransportServerSettings ConfigurationService::get_transport_server() const {
  return snapshot()->transport_server;
}

store::TransportServerSettings ConfigurationService::set_transport_server(const PropertyChanges& changes) {
  return retrying([&] { return set_singleton(&Configuration::transport_server, changes, {}); });
}

store::HarvestDefenceConfig ConfigurationService::get_harvest_defence() const { return snapshot()->harvest_defence; }

store::HarvestDefenceConfig ConfigurationService::set_harvest_defence(const PropertyChanges& changes,
                                                                      const ListEdits& edits) {
  return retrying([&] { return set_singleton(&Configuration::harvest_defence, changes, edits); });
}

}  // namespace transport::config
