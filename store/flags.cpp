// PermissionGroups and AuthMechanism: names matched in any letter case, items that may themselves be
// comma-separated, and AuthMechanism's own combination rules, each refused with the fix spelled out.
#include "store/flags.h"

#include <span>

#include "store/text_util.h"
#include "store/value_error.h"

namespace transport::store {

namespace {

template <class E>
struct FlagName {
  E flag;
  std::string_view name;
};

// Exchange's spelling and order; to_strings follows this order.
constexpr FlagName<PermissionGroup> kPermissionGroupNames[] = {
    {PermissionGroup::anonymous_users, "AnonymousUsers"},
    {PermissionGroup::exchange_users, "ExchangeUsers"},
    {PermissionGroup::exchange_servers, "ExchangeServers"},
    {PermissionGroup::partners, "Partners"},
};

constexpr FlagName<AuthMechanismFlag> kAuthMechanismNames[] = {
    {AuthMechanismFlag::tls, "Tls"},
    {AuthMechanismFlag::basic_auth, "BasicAuth"},
    {AuthMechanismFlag::basic_auth_require_tls, "BasicAuthRequireTLS"},
    {AuthMechanismFlag::external_authoritative, "ExternalAuthoritative"},
};

// The input as the administrator wrote it, for quoting in a message.
std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

template <class E>
std::string known_names(std::span<const FlagName<E>> names) {
  std::string out = "None";
  for (const FlagName<E>& n : names) out += ", " + std::string(n.name);
  return out;
}

// Parses names against the table; "None" yields nothing and must stand alone. `what` is the kind of
// value in the message ("permission group", "auth mechanism").
template <class E>
FlagSet<E> parse_flags(const std::vector<std::string>& items, std::span<const FlagName<E>> names,
                       std::string_view what) {
  const std::string written = "\"" + joined(items) + "\"";
  std::vector<E> flags;
  bool saw_none = false;
  bool saw_any = false;
  for (const std::string& item : items) {
    std::string_view rest = item;
    while (true) {
      const std::size_t comma = rest.find(',');
      const std::string_view name = trim(rest.substr(0, comma));
      if (!name.empty()) {
        saw_any = true;
        if (iequals(name, "None")) {
          saw_none = true;
        } else {
          bool found = false;
          for (const FlagName<E>& n : names) {
            if (iequals(name, n.name)) {
              flags.push_back(n.flag);
              found = true;
            }
          }
          if (!found) {
            throw ValueError("\"" + std::string(name) + "\" is not a known " + std::string(what) +
                             ": the names are " + known_names(names));
          }
        }
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (!saw_any) {
    throw ValueError(written + " names no " + std::string(what) + ": use None for no " + std::string(what) +
                     "s; the names are " + known_names(names));
  }
  if (saw_none && !flags.empty()) {
    throw ValueError(written + " is not a valid set of " + std::string(what) +
                     "s: None must stand alone; remove None or the other names");
  }
  FlagSet<E> set;
  for (E flag : flags) set = set.with(flag);
  return set;
}

template <class E>
std::vector<std::string> names_of(FlagSet<E> set, std::span<const FlagName<E>> names) {
  std::vector<std::string> out;
  for (const FlagName<E>& n : names) {
    if (set.has(n.flag)) out.emplace_back(n.name);
  }
  if (out.empty()) out.emplace_back("None");
  return out;
}

}  // namespace

PermissionGroups parse_permission_groups(const std::vector<std::string>& items) {
  return parse_flags<PermissionGroup>(items, kPermissionGroupNames, "permission group");
}

AuthMechanism parse_auth_mechanism(const std::vector<std::string>& items) {
  const AuthMechanism m = parse_flags<AuthMechanismFlag>(items, kAuthMechanismNames, "auth mechanism");
  const std::string written = "\"" + joined(items) + "\"";
  using enum AuthMechanismFlag;
  const std::string refused = written + " is not a valid set of auth mechanisms: ";
  // ExternalAuthoritative first: adding what BasicAuthRequireTLS lacks would not help it.
  if (m.has(external_authoritative) && (m.has(basic_auth) || m.has(basic_auth_require_tls))) {
    throw ValueError(refused + "ExternalAuthoritative stands alone or with Tls only; remove the BasicAuth "
                               "mechanisms or ExternalAuthoritative");
  }
  if (m.has(basic_auth_require_tls) && !(m.has(basic_auth) && m.has(tls))) {
    const char* missing = m.has(basic_auth) ? "Tls" : m.has(tls) ? "BasicAuth" : "BasicAuth and Tls";
    throw ValueError(refused + "BasicAuthRequireTLS needs BasicAuth and Tls; add " + missing);
  }
  return m;
}

std::vector<std::string> to_strings(PermissionGroups groups) {
  return names_of<PermissionGroup>(groups, kPermissionGroupNames);
}

std::vector<std::string> to_strings(AuthMechanism mechanism) {
  return names_of<AuthMechanismFlag>(mechanism, kAuthMechanismNames);
}

}  // namespace transport::store
