// IP address and range parsing (strict dotted quad, RFC 4291 IPv6 text), RFC 5952 formatting, and the
// range relations (containment, overlap) that connector selection and the uniqueness rule rely on.
#include "store/ip_range.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <vector>

#include "store/text_util.h"
#include "store/value_error.h"

namespace transport::store {

namespace {

constexpr IpValue kAllOnes128 = ~IpValue{0};
constexpr IpValue kAllOnes32 = 0xffffffffu;
constexpr IpValue kMappedPrefix = IpValue{0xffff} << 32;  // ::ffff:0:0/96
constexpr std::string_view kAddressForm = "write a.b.c.d or an IPv6 address such as 2001:db8::1";

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A parse result: the address, or why the text is not one (a reason without the quoted input, so that
// the address, range and binding parsers can each put it in their own sentence).
struct Parsed {
  std::optional<IpAddress> address;
  std::string reason;
};

Parsed fail(std::string reason) { return Parsed{std::nullopt, std::move(reason)}; }

// Strict a.b.c.d: four parts, each 0-255 in decimal with no leading zero (010 is octal to some tools).
std::optional<std::string> parse_dotted_quad(std::string_view text, std::uint32_t& out) {
  std::uint32_t value = 0;
  int parts = 0;
  while (true) {
    const std::size_t dot = text.find('.');
    std::string_view part = text.substr(0, dot);
    if (++parts > 4) return "an IPv4 address has four parts; write a.b.c.d";
    if (part.empty()) return "an IPv4 address has four parts, none of them empty; write a.b.c.d";
    for (char c : part) {
      if (!is_digit(c)) return "unexpected character '" + std::string(1, c) + "'; " + std::string(kAddressForm);
    }
    if (part.size() > 1 && part.front() == '0') {
      const std::size_t significant = part.find_first_not_of('0');
      const std::string_view plain = significant == std::string_view::npos ? "0" : part.substr(significant);
      return "part " + std::string(part) + " has a leading zero; write " + std::string(plain);
    }
    unsigned number = 256;
    if (part.size() <= 3) std::from_chars(part.data(), part.data() + part.size(), number);
    if (number > 255) return "part " + std::string(part) + " is greater than 255";
    value = (value << 8) | number;
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  if (parts != 4) return "an IPv4 address has four parts; write a.b.c.d";
  out = value;
  return std::nullopt;
}

// Colon-separated groups of 1-4 hex digits; the last may be a dotted quad (it then counts as two).
std::optional<std::string> parse_groups(std::string_view text, bool quad_allowed, std::vector<std::uint16_t>& out) {
  if (text.empty()) return std::nullopt;
  while (true) {
    const std::size_t colon = text.find(':');
    std::string_view group = text.substr(0, colon);
    if (colon == std::string_view::npos && quad_allowed && group.find('.') != std::string_view::npos) {
      std::uint32_t quad = 0;
      if (auto reason = parse_dotted_quad(group, quad)) return "in the embedded IPv4 part: " + *reason;
      out.push_back(static_cast<std::uint16_t>(quad >> 16));
      out.push_back(static_cast<std::uint16_t>(quad & 0xffff));
      return std::nullopt;
    }
    if (group.find('.') != std::string_view::npos) {
      return std::string("an embedded IPv4 address may only end an IPv6 address");
    }
    if (group.empty()) return std::string("an IPv6 group is empty; only :: may join two colons");
    if (group.size() > 4) return "group " + std::string(group) + " has more than 4 hex digits";
    unsigned value = 0;
    for (char c : group) {
      const int digit = hex_digit(c);
      if (digit < 0) return "unexpected character '" + std::string(1, c) + "'; " + std::string(kAddressForm);
      value = value * 16 + static_cast<unsigned>(digit);
    }
    out.push_back(static_cast<std::uint16_t>(value));
    if (colon == std::string_view::npos) return std::nullopt;
    text.remove_prefix(colon + 1);
  }
}

// RFC 4291 section 2.2: eight groups, or fewer with one "::" standing for one or more zero groups.
std::optional<std::string> parse_ipv6(std::string_view text, std::array<std::uint8_t, 16>& bytes) {
  std::vector<std::uint16_t> head;
  std::vector<std::uint16_t> tail;
  const std::size_t gap = text.find("::");
  if (gap == std::string_view::npos) {
    if (auto reason = parse_groups(text, true, head)) return reason;
    if (head.size() != 8) {
      return std::string(head.size() < 8 ? "too few groups" : "too many groups") +
             ": an IPv6 address has 8 groups, or fewer with :: for a run of zero groups";
    }
  } else {
    std::string_view left = text.substr(0, gap);
    std::string_view right = text.substr(gap + 2);
    if (right.find("::") != std::string_view::npos) return std::string(":: may appear only once");
    if (!right.empty() && right.front() == ':') return std::string(":: may appear only once");
    if (auto reason = parse_groups(left, false, head)) return reason;
    if (auto reason = parse_groups(right, true, tail)) return reason;
    if (head.size() + tail.size() > 7) {
      return std::string("too many groups: with :: an IPv6 address has at most 7 written groups");
    }
  }
  std::array<std::uint16_t, 8> groups{};
  for (std::size_t i = 0; i < head.size(); ++i) groups[i] = head[i];
  for (std::size_t i = 0; i < tail.size(); ++i) groups[8 - tail.size() + i] = tail[i];
  for (std::size_t i = 0; i < 8; ++i) {
    bytes[2 * i] = static_cast<std::uint8_t>(groups[i] >> 8);
    bytes[2 * i + 1] = static_cast<std::uint8_t>(groups[i] & 0xff);
  }
  return std::nullopt;
}

Parsed parse_address(std::string_view text) {
  if (text.empty()) return fail("it is empty; " + std::string(kAddressForm));
  if (text.front() == '[' || text.back() == ']') return fail("write it without brackets");
  if (text.find('%') != std::string_view::npos) return fail("zone ids (%...) are not allowed");
  if (text.find(':') != std::string_view::npos) {
    std::array<std::uint8_t, 16> bytes{};
    if (auto reason = parse_ipv6(text, bytes)) return fail(*reason);
    return Parsed{IpAddress::v6(bytes), {}};
  }
  std::uint32_t value = 0;
  if (auto reason = parse_dotted_quad(text, value)) return fail(*reason);
  return Parsed{IpAddress::v4(value), {}};
}

IpValue all_ones(IpFamily family) { return family == IpFamily::v4 ? kAllOnes32 : kAllOnes128; }

// The network bits of a prefix of the given length, within the family's width.
IpValue mask_of(IpFamily family, unsigned prefix_length) {
  const unsigned host_bits = (family == IpFamily::v4 ? 32 : 128) - prefix_length;
  return host_bits == 128 ? IpValue{0} : (all_ones(family) >> host_bits) << host_bits;
}

}  // namespace

IpAddress IpAddress::parse(std::string_view input) {
  const std::string_view text = trim(input);
  Parsed parsed = parse_address(text);
  if (!parsed.address) throw ValueError(quoted(text) + " is not a valid IP address: " + parsed.reason);
  return *parsed.address;
}

IpAddress IpAddress::v4(std::uint32_t value) { return IpAddress(IpFamily::v4, value); }

IpAddress IpAddress::v6(const std::array<std::uint8_t, 16>& bytes) {
  IpValue value = 0;
  for (std::uint8_t b : bytes) value = (value << 8) | b;
  if ((value >> 32) == 0xffff) return v4(static_cast<std::uint32_t>(value & kAllOnes32));
  return IpAddress(IpFamily::v6, value);
}

IpValue IpAddress::max_value() const { return family_ == IpFamily::v4 ? kAllOnes32 : kAllOnes128; }

std::string IpAddress::to_string() const {
  if (family_ == IpFamily::v4) {
    const auto v = static_cast<std::uint32_t>(value_);
    return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 0xff) + "." + std::to_string((v >> 8) & 0xff) +
           "." + std::to_string(v & 0xff);
  }
  std::array<unsigned, 8> groups{};
  for (int i = 0; i < 8; ++i) {
    groups[static_cast<std::size_t>(i)] = static_cast<unsigned>((value_ >> (112 - 16 * i)) & 0xffff);
  }
  // RFC 5952 4.2: the longest run of two or more zero groups becomes ::, the first one on a tie.
  int best_start = -1;
  int best_length = 1;
  for (int i = 0; i < 8;) {
    if (groups[static_cast<std::size_t>(i)] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && groups[static_cast<std::size_t>(j)] == 0) ++j;
    if (j - i > best_length) {
      best_start = i;
      best_length = j - i;
    }
    i = j;
  }
  std::string out;
  char buffer[8];
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_length - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, groups[static_cast<std::size_t>(i)], 16);
    out.append(buffer, end);
  }
  return out;
}

IpRange IpRange::parse(std::string_view input) {
  const std::string_view text = trim(input);
  auto address_in = [&](std::string_view part) -> IpAddress {
    Parsed parsed = parse_address(trim(part));
    if (!parsed.address) {
      throw ValueError(quoted(text) + " is not a valid IP range: " + std::string(trim(part)) +
                       " is not a valid IP address (" + parsed.reason + ")");
    }
    return *parsed.address;
  };
  if (text.empty()) throw ValueError("\"\" is not a valid IP range: write an address, a-b or a/len");

  if (const std::size_t slash = text.find('/'); slash != std::string_view::npos) {
    const std::string_view address_text = trim(text.substr(0, slash));
    const std::string_view length_text = trim(text.substr(slash + 1));
    const IpAddress address = address_in(address_text);
    // An IPv4-mapped block (::ffff:10.0.0.0/104) is converted to its IPv4 block (10.0.0.0/8), since a
    // mapped address is IPv4 everywhere. The mask is applied to the address as written, so a prefix
    // shorter than /96 on a mapped address has host bits set and gets an IPv6 suggestion.
    const bool written_as_v6 = address_text.find(':') != std::string_view::npos;
    IpFamily family = written_as_v6 ? IpFamily::v6 : IpFamily::v4;
    IpValue value = address.value();
    if (written_as_v6 && address.family() == IpFamily::v4) value |= kMappedPrefix;
    const unsigned bits = family == IpFamily::v4 ? 32 : 128;
    unsigned length = 0;
    auto [end, error] = std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
    if (length_text.empty() || length_text.size() > 3 || error != std::errc() ||
        end != length_text.data() + length_text.size() || length > bits) {
      throw ValueError(quoted(text) + " is not a valid IP range: the prefix length after / must be 0-" +
                       std::to_string(bits));
    }
    if ((value & ~mask_of(family, length) & all_ones(family)) != 0) {
      const IpValue network = value & mask_of(family, length);
      std::string suggestion = IpAddress(family, network).to_string();
      if (family == IpFamily::v6 && (network >> 32) == 0xffff) {
        // Keep the suggestion in the mapped form it was written in.
        suggestion = "::ffff:" + IpAddress::v4(static_cast<std::uint32_t>(network)).to_string();
      }
      throw ValueError(quoted(text) + " has host bits set: did you mean " + suggestion + "/" +
                       std::to_string(length) + "?");
    }
    if (family == IpFamily::v6 && (value >> 32) == 0xffff) {
      family = IpFamily::v4;
      value &= kAllOnes32;
      length -= 96;
    }
    IpRange range;
    range.form_ = Form::cidr;
    range.prefix_length_ = static_cast<std::uint8_t>(length);
    range.first_ = IpAddress(family, value);
    range.last_ = IpAddress(family, value | (~mask_of(family, length) & all_ones(family)));
    return range;
  }

  if (const std::size_t dash = text.find('-'); dash != std::string_view::npos) {
    IpAddress first = address_in(text.substr(0, dash));
    IpAddress last = address_in(text.substr(dash + 1));
    if (first.family() != last.family()) {
      throw ValueError(quoted(text) + " is not a valid IP range: both ends must be IPv4 or both IPv6");
    }
    if (last < first) {
      throw ValueError(quoted(text) + " is not a valid IP range: the start is after the end; did you mean " +
                       last.to_string() + "-" + first.to_string() + "?");
    }
    return between(first, last);
  }

  IpAddress address = address_in(text);
  IpRange range;
  range.first_ = address;
  range.last_ = address;
  range.form_ = Form::single;
  return range;
}

IpRange IpRange::between(IpAddress first, IpAddress last) {
  const std::string written = quoted(first.to_string() + "-" + last.to_string());
  if (first.family() != last.family()) {
    throw ValueError(written + " is not a valid IP range: both ends must be IPv4 or both IPv6");
  }
  if (last < first) throw ValueError(written + " is not a valid IP range: the start is after the end");
  IpRange range;
  range.first_ = first;
  range.last_ = last;
  range.form_ = Form::span;
  return range;
}

IpRange IpRange::all_v4() { return between(IpAddress::v4(0), IpAddress::v4(0xffffffffu)); }

IpRange IpRange::all_v6() { return between(IpAddress(IpFamily::v6, 0), IpAddress(IpFamily::v6, kAllOnes128)); }

bool IpRange::contains(const IpAddress& address) const {
  return address.family() == family() && first_ <= address && address <= last_;
}

bool IpRange::contains(const IpRange& other) const {
  return other.family() == family() && first_ <= other.first_ && other.last_ <= last_;
}

bool IpRange::overlaps(const IpRange& other) const {
  return other.family() == family() && first_ <= other.last_ && other.first_ <= last_;
}

bool IpRange::partially_overlaps(const IpRange& other) const {
  return overlaps(other) && !contains(other) && !other.contains(*this);
}

std::string IpRange::to_string() const {
  switch (form_) {
    case Form::single:
      return first_.to_string();
    case Form::span:
      return first_.to_string() + "-" + last_.to_string();
    case Form::cidr:
      return first_.to_string() + "/" + std::to_string(prefix_length_);
  }
  return first_.to_string();
}

std::vector<const IpRange*> sorted_by_first(const std::vector<IpRange>& ranges) {
  std::vector<const IpRange*> sorted;
  sorted.reserve(ranges.size());
  for (const IpRange& range : ranges) sorted.push_back(&range);
  std::sort(sorted.begin(), sorted.end(), [](const IpRange* a, const IpRange* b) { return a->first() < b->first(); });
  return sorted;
}

}  // namespace transport::store
