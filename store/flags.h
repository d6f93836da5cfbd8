// Flag sets of a receive connector: PermissionGroups and AuthMechanism, parsed from names
// (any letter case) and shown in Exchange's spelling and order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace transport::store {

enum class PermissionGroup : std::uint8_t {
  anonymous_users = 1 << 0,   // AnonymousUsers
  exchange_users = 1 << 1,    // ExchangeUsers
  exchange_servers = 1 << 2,  // ExchangeServers
  partners = 1 << 3,          // Partners
};

enum class AuthMechanismFlag : std::uint8_t {
  tls = 1 << 0,                     // Tls
  basic_auth = 1 << 1,              // BasicAuth
  basic_auth_require_tls = 1 << 2,  // BasicAuthRequireTLS
  external_authoritative = 1 << 3,  // ExternalAuthoritative
};

// A set of flags of enum E; empty is shown as "None".
template <class E>
class FlagSet {
 public:
  constexpr FlagSet() = default;
  constexpr FlagSet(std::initializer_list<E> flags) {
    for (E f : flags) bits_ |= static_cast<std::uint8_t>(f);
  }
  constexpr bool has(E flag) const { return bits_ & static_cast<std::uint8_t>(flag); }
  // This set plus one flag (for building a set from parsed names).
  constexpr FlagSet with(E flag) const {
    FlagSet out = *this;
    out.bits_ |= static_cast<std::uint8_t>(flag);
    return out;
  }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr std::uint8_t bits() const { return bits_; }
  constexpr bool operator==(const FlagSet&) const = default;

 private:
  std::uint8_t bits_ = 0;
};

using PermissionGroups = FlagSet<PermissionGroup>;
using AuthMechanism = FlagSet<AuthMechanismFlag>;

// Each item is one name or a comma-separated list of names; duplicates are harmless. "None" must
// stand alone. Throws ValueError naming the unknown name and listing the known ones.
PermissionGroups parse_permission_groups(const std::vector<std::string>& items);
// Also applies AuthMechanism's own rules: None alone; BasicAuthRequireTLS needs BasicAuth and Tls;
// ExternalAuthoritative alone or with Tls only. (The rule tying ExternalAuthoritative to
// PermissionGroups ExchangeServers spans two properties and lives in the connector's validation.)
AuthMechanism parse_auth_mechanism(const std::vector<std::string>& items);

// Names in declaration order, e.g. {"AnonymousUsers", "ExchangeUsers"}; {"None"} when empty.
std::vector<std::string> to_strings(PermissionGroups groups);
std::vector<std::string> to_strings(AuthMechanism mechanism);

}  // namespace transport::store
