// SourceKey: the compact identity of a reputation record, a client address or the prefix it belongs to
// (IPv4 /24 and IPv6 /64 by default). Fixed size, no allocation: it is hashed on every judgement.
#pragma once

#include <cstdint>
#include <string>

#include "store/ip_range.h"

namespace transport::reputation {

struct SourceKey {
  std::uint64_t hi = 0;  // IPv6: the upper 64 bits; IPv4: 0
  std::uint64_t lo = 0;  // IPv6: the lower 64 bits; IPv4: the address in the low 32 bits
  std::uint8_t family = 0;  // 4 or 6; 0 for no key
  std::uint8_t length = 0;  // prefix length: 32 or 128 for an address record

  bool is_prefix() const { return length < (family == 4 ? 32 : 128); }
  bool operator==(const SourceKey&) const = default;
};

// The key of the client's own record.
SourceKey address_key(const store::IpAddress& address);
// The key of the prefix record `address` falls in; lengths outside 0-32 / 0-128 are clamped.
SourceKey prefix_key(const store::IpAddress& address, int ipv4_length, int ipv6_length);
// The key naming exactly the CIDR block first/length (host bits cleared).
SourceKey block_key(const store::IpAddress& first, int length);

// "192.0.2.7", "192.0.2.0/24", "2001:db8:1:2::/64".
std::string to_string(const SourceKey& key);
// The first and last address the record covers, as values of its family (equal for an address record).
store::IpValue first_value(const SourceKey& key);
store::IpValue last_value(const SourceKey& key);

// Seeded so that a client choosing its addresses (an IPv6 /64 has plenty) cannot aim them at one slot.
std::uint64_t hash(const SourceKey& key, std::uint64_t seed);

}  // namespace transport::reputation
