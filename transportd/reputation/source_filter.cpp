// SourceFilter: the text an administrator names sources with (get-/clear-sourcereputation).
#include <algorithm>

#include "store/text_util.h"
#include "store/value_error.h"
#include "transportd/reputation/source_key.h"
#include "transportd/reputation/source_reputation.h"

namespace transport::reputation {

namespace {

// Characters a source's text can hold, plus the glob's two.
bool glob_character(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '.' || c == ':' || c == '/' || c == '*' ||
         c == '?';
}

// The text as it can be shown back: bytes outside printable ASCII as \xNN.
std::string shown(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
  return out;
}

[[noreturn]] void refuse(std::string_view text, const std::string& why) {
  throw store::ValueError("\"" + shown(text) + "\" is not a source: " + why +
                          "; write an address (192.0.2.7), a CIDR block (192.0.2.0/24) or a glob (192.0.2.*)");
}

}  // namespace

SourceFilter SourceFilter::parse(std::string_view raw) {
  const std::string_view text = store::trim(raw);
  SourceFilter filter;
  if (text.empty() || text == "*") {
    filter.text = "*";
    return filter;
  }
  if (text.find_first_of("*?") != std::string_view::npos) {
    std::string glob = store::to_lower(text);
    for (char c : glob) {
      if (!glob_character(c)) refuse(text, std::string("a glob holds only address characters, * and ?, not '") + c + "'");
    }
    filter.kind_ = Kind::glob;
    filter.text = std::move(glob);
    return filter;
  }
  store::IpRange range;
  try {
    range = store::IpRange::parse(text);
  } catch (const store::ValueError& e) {
    // Its message starts with the text again: keep only what it says about it.
    const std::string_view message = e.what();
    std::size_t end = std::string_view::npos;
    for (std::string_view marker : {"\" is ", "\" has "}) end = std::min(end, message.find(marker));
    refuse(text, end == std::string_view::npos ? std::string(message) : "it" + std::string(message.substr(end + 1)));
  }
  if (range.form() == store::IpRange::Form::span) refuse(text, "a start-end range is not a source");
  filter.kind_ = Kind::block;
  filter.family_ = range.family() == store::IpFamily::v4 ? 4 : 6;
  filter.first_ = range.first().value();
  filter.last_ = range.last().value();
  filter.text = range.to_string();
  return filter;
}

bool SourceFilter::matches(const SourceKey& key, std::string_view source) const {
  switch (kind_) {
    case Kind::all: return true;
    case Kind::block:
      return key.family == family_ && first_value(key) >= first_ && last_value(key) <= last_;
    case Kind::glob: return store::glob_match(text, source);
  }
  return false;
}

}  // namespace transport::reputation
