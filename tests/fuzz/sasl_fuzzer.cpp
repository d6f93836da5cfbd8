// Fuzz target: the AUTH decoders (transportd/smtp/sasl.*): strict base64 and the PLAIN message.
// (LOGIN's responses are plain base64; the AUTH exchange itself is fuzzed by protocol_fuzzer.)
//
// Invariants:
//  - decode_base64 accepts exactly the canonical encodings: whatever it decodes re-encodes (with an
//    encoder written here from RFC 4648) to the very text it was given, and every encoding of any
//    octets decodes back to those octets. So blanks, line breaks, misplaced or missing padding,
//    non-zero unused bits and foreign symbols are all refused.
//  - parse_plain splits a message with exactly two NULs into its three parts, which joined with NULs
//    give the message back; any other NUL count is refused.
//  - wipe leaves an empty string.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "transportd/smtp/sasl.h"

namespace {

using transport::fuzz::escaped;
using namespace transport::smtp;

std::string encode(std::string_view octets) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= octets.size(); i += 3) {
    const std::uint32_t group = static_cast<std::uint32_t>(static_cast<unsigned char>(octets[i])) << 16 |
                                static_cast<std::uint32_t>(static_cast<unsigned char>(octets[i + 1])) << 8 |
                                static_cast<unsigned char>(octets[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(group >> shift) & 63]);
  }
  const std::size_t rest = octets.size() - i;
  if (rest > 0) {
    std::uint32_t group = static_cast<std::uint32_t>(static_cast<unsigned char>(octets[i])) << 16;
    if (rest == 2) group |= static_cast<std::uint32_t>(static_cast<unsigned char>(octets[i + 1])) << 8;
    out.push_back(kAlphabet[(group >> 18) & 63]);
    out.push_back(kAlphabet[(group >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(group >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

void check_base64(std::string_view text) {
  const std::optional<std::string> decoded = decode_base64(text);
  if (decoded) {
    FUZZ_CHECK(encode(*decoded) == text, "decoded \"" + escaped(text) + "\" to \"" + escaped(*decoded) +
                                             "\", which encodes as \"" + encode(*decoded) + "\"");
  }
  // Any octets: their encoding decodes back.
  const std::string encoded = encode(text);
  const std::optional<std::string> back = decode_base64(encoded);
  FUZZ_CHECK(back && *back == text, "\"" + encoded + "\" does not decode back to \"" + escaped(text) + "\"");
}

void check_plain(std::string_view message) {
  std::size_t nuls = 0;
  for (char c : message) nuls += c == '\0';
  const std::optional<PlainMessage> plain = parse_plain(message);
  FUZZ_CHECK(plain.has_value() == (nuls == 2),
             "parse_plain with " + std::to_string(nuls) + " NULs: \"" + escaped(message) + "\"");
  if (!plain) return;
  const std::string joined = plain->authzid + '\0' + plain->authcid + '\0' + plain->passwd;
  FUZZ_CHECK(joined == message, "parts do not rebuild the message: \"" + escaped(message) + "\"");
  PlainMessage copy = *plain;
  wipe(copy.passwd);
  FUZZ_CHECK(copy.passwd.empty(), "wipe left data");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  check_base64(input);
  check_plain(input);
  // The session's path: a base64 line decoded, then read as a PLAIN message.
  if (const std::optional<std::string> decoded = decode_base64(input)) check_plain(*decoded);
  return 0;
}
