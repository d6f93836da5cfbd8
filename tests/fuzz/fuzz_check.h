// Invariant checks for the fuzz targets: a broken invariant prints what broke, with the values
// involved, and aborts so that libFuzzer records the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace transport::fuzz {

// Printable form of arbitrary bytes: \xNN for anything outside printable ASCII.
inline std::string escaped(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

// The start of a refusal's message: the quoted text. what() is a C string, so an input holding a NUL
// shows only up to it.
inline std::string quoted_prefix(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  return quoted.substr(0, quoted.find('\0'));
}

[[noreturn]] inline void fail(const char* file, int line, const char* condition, const std::string& detail) {
  std::fprintf(stderr, "\n==fuzz invariant broken== %s:%d: %s\n%s\n", file, line, condition, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace transport::fuzz

// FUZZ_CHECK(condition, detail): `detail` is a std::string expression, evaluated only on failure.
#define FUZZ_CHECK(condition, detail)                                                    \
  do {                                                                                   \
    if (!(condition)) ::transport::fuzz::fail(__FILE__, __LINE__, #condition, (detail)); \
  } while (false)
