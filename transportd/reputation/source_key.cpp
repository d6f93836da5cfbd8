// Source keys: address and prefix records' identities, their text, and their hash.
#include "transportd/reputation/source_key.h"

#include <algorithm>
#include <array>

namespace transport::reputation {

namespace {

store::IpValue value_of(const SourceKey& key) {
  return (static_cast<store::IpValue>(key.hi) << 64) | key.lo;
}

store::IpAddress first_address(const SourceKey& key) {
  if (key.family == 4) return store::IpAddress::v4(static_cast<std::uint32_t>(key.lo));
  std::array<std::uint8_t, 16> bytes{};
  const store::IpValue value = value_of(key);
  for (int i = 0; i < 16; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value >> (120 - 8 * i));
  // The first address of a block is never inside ::ffff:0:0/96 unless a client address was, and
  // IpAddress::parse turns those into IPv4: v6() keeps the family here.
  return store::IpAddress::v6(bytes);
}

SourceKey make_key(const store::IpAddress& address, int length) {
  const bool v4 = address.family() == store::IpFamily::v4;
  const int bits = v4 ? 32 : 128;
  length = std::clamp(length, 0, bits);
  store::IpValue value = address.value();
  const int host_bits = bits - length;
  if (host_bits >= 128) {
    value = 0;
  } else if (host_bits > 0) {
    value &= ~((store::IpValue{1} << host_bits) - 1);
  }
  SourceKey key;
  key.hi = static_cast<std::uint64_t>(value >> 64);
  key.lo = static_cast<std::uint64_t>(value);
  key.family = v4 ? 4 : 6;
  key.length = static_cast<std::uint8_t>(length);
  return key;
}

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

SourceKey address_key(const store::IpAddress& address) {
  return make_key(address, address.family() == store::IpFamily::v4 ? 32 : 128);
}

SourceKey prefix_key(const store::IpAddress& address, int ipv4_length, int ipv6_length) {
  return make_key(address, address.family() == store::IpFamily::v4 ? ipv4_length : ipv6_length);
}

SourceKey block_key(const store::IpAddress& first, int length) { return make_key(first, length); }

std::string to_string(const SourceKey& key) {
  std::string text = first_address(key).to_string();
  if (key.is_prefix()) text += "/" + std::to_string(key.length);
  return text;
}

store::IpValue first_value(const SourceKey& key) { return value_of(key); }

store::IpValue last_value(const SourceKey& key) {
  const int host_bits = (key.family == 4 ? 32 : 128) - key.length;
  const store::IpValue span = host_bits >= 128 ? ~store::IpValue{0} : (store::IpValue{1} << host_bits) - 1;
  return value_of(key) | span;
}

std::uint64_t hash(const SourceKey& key, std::uint64_t seed) {
  const std::uint64_t tag = (static_cast<std::uint64_t>(key.family) << 8) | key.length;
  return mix(mix(key.hi ^ seed) ^ key.lo ^ (tag << 56) ^ (tag * 0x9e3779b97f4a7c15ULL));
}

}  // namespace transport::reputation
