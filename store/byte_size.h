// ByteSize: a size in bytes written as Exchange writes it: 10MB, 512KB, 2GB or plain bytes.
// Units are binary (1KB = 1024 bytes), as in Exchange.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace transport::store {

class ByteSize {
 public:
  constexpr ByteSize() = default;
  constexpr explicit ByteSize(std::uint64_t bytes) : bytes_(bytes) {}
  static constexpr ByteSize kilobytes(std::uint64_t n) { return ByteSize(n * 1024); }
  static constexpr ByteSize megabytes(std::uint64_t n) { return ByteSize(n * 1024 * 1024); }
  static constexpr ByteSize gigabytes(std::uint64_t n) { return ByteSize(n * 1024 * 1024 * 1024); }

  // Digits, optionally followed by B, KB, MB or GB (any letter case, optional space between):
  // "10MB", "512 kb", "65536". Throws ValueError; "unlimited" is not a ByteSize (see parse_limit).
  static ByteSize parse(std::string_view text);
  // The largest unit that divides it exactly: 10MB, 64KB, 1000 (bytes).
  std::string to_string() const;

  constexpr std::uint64_t bytes() const { return bytes_; }
  constexpr auto operator<=>(const ByteSize&) const = default;

 private:
  std::uint64_t bytes_ = 0;
};

}  // namespace transport::store
