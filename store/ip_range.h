// IP addresses and ranges as RemoteIPRanges uses them: single addresses, start-end ranges and CIDR
// blocks, IPv4 and IPv6. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is treated as IPv4 everywhere.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace transport::store {

enum class IpFamily : std::uint8_t { v4, v6 };

// 128-bit arithmetic keeps range sizes and comparisons exact for both families.
using IpValue = unsigned __int128;

class IpAddress {
 public:
  IpAddress() = default;  // 0.0.0.0

  // Dotted quad (a.b.c.d, each 0-255, no leading zeros beyond the digit 0) or IPv6 text (RFC 4291
  // forms including :: and an embedded dotted quad; no brackets, no zone). Throws ValueError.
  static IpAddress parse(std::string_view text);
  static IpAddress v4(std::uint32_t value);
  // From 16 network-order bytes; a v4-mapped address becomes IPv4.
  static IpAddress v6(const std::array<std::uint8_t, 16>& bytes);

  IpFamily family() const { return family_; }
  // IPv4: the 32-bit value. IPv6: the 128-bit value.
  IpValue value() const { return value_; }
  bool is_unspecified() const { return value_ == 0; }  // 0.0.0.0 or ::
  // 0xffffffff for IPv4, all ones for IPv6.
  IpValue max_value() const;

  // Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as ::).
  std::string to_string() const;

  auto operator<=>(const IpAddress&) const = default;

 private:
  // IpRange builds IPv6 range ends directly: the last address of ::/80 lies in ::ffff:0:0/96 but is not
  // an IPv4 address, so it must not go through v6()'s mapping.
  friend class IpRange;
  IpAddress(IpFamily family, IpValue value) : family_(family), value_(value) {}
  IpFamily family_ = IpFamily::v4;
  IpValue value_ = 0;
};

class IpRange {
 public:
  // How the range was written; it is shown back the same way.
  enum class Form : std::uint8_t { single, span, cidr };

  // "a", "a-b" (a <= b, same family) or "a/len" (len 0-32 or 0-128; host bits must be zero).
  // Surrounding spaces are ignored. Throws ValueError naming the problem.
  static IpRange parse(std::string_view text);
  // first <= last and same family, else ValueError.
  static IpRange between(IpAddress first, IpAddress last);
  static IpRange all_v4();  // 0.0.0.0-255.255.255.255
  static IpRange all_v6();  // ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff

  IpFamily family() const { return first_.family(); }
  const IpAddress& first() const { return first_; }
  const IpAddress& last() const { return last_; }
  Form form() const { return form_; }

  // False for an address of the other family.
  bool contains(const IpAddress& address) const;
  bool contains(const IpRange& other) const;  // other lies entirely inside this
  bool overlaps(const IpRange& other) const;  // share at least one address
  // Overlap where neither contains the other: the case the uniqueness rule forbids.
  bool partially_overlaps(const IpRange& other) const;
  // last - first: a smaller span is a more specific range. (Size is span + 1, which overflows for ::/0.)
  IpValue span() const { return last_.value() - first_.value(); }

  // In the form it was written: "a", "a-b" or "a/len", addresses canonical.
  std::string to_string() const;

  bool operator==(const IpRange& other) const { return first_ == other.first_ && last_ == other.last_; }

 private:
  IpAddress first_;
  IpAddress last_;
  Form form_ = Form::single;
  std::uint8_t prefix_length_ = 0;
};

// Pointers to the entries of `ranges` ordered by first address (family first). The overlap checks walk
// this order instead of comparing every pair.
std::vector<const IpRange*> sorted_by_first(const std::vector<IpRange>& ranges);

}  // namespace transport::store
