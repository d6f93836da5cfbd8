// Fuzz target: the text forms of the reputation's records (transportd/reputation/source_key.*,
// source_filter.cpp): SourceFilter::parse, record keys and their text, and glob matching.
//
// The input is a filter text, then optionally '\n' and a client address text. Invariants:
//  - SourceFilter::parse either refuses with a ValueError whose message starts with the quoted text,
//    or gives a canonical text that parses again to itself.
//  - A filter that is not a glob reads exactly as IpRange::parse reads it (an address or a CIDR
//    block; never a start-end span).
//  - For a client address: its address key's text parses back to it; its prefix key (lengths from the
//    input's size) is a CIDR block holding it whose text parses back to the same key; the filter of
//    the block names both records, the filter of the address names the address record only.
//  - A glob filter matches a source text exactly when a reference dynamic-programming matcher does.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/ip_range.h"
#include "store/value_error.h"
#include "tests/fuzz/fuzz_check.h"
#include "transportd/reputation/source_key.h"
#include "transportd/reputation/source_reputation.h"

namespace {

using transport::fuzz::escaped;
using transport::reputation::SourceFilter;
using transport::reputation::SourceKey;
namespace store = transport::store;
namespace reputation = transport::reputation;

bool reference_glob(std::string_view pattern, std::string_view text) {
  // matched[j]: pattern[0..i) matches text[0..j)
  std::vector<char> matched(text.size() + 1, 0), next(text.size() + 1, 0);
  matched[0] = 1;
  for (char p : pattern) {
    next.assign(text.size() + 1, 0);
    if (p == '*') {
      char any = 0;
      for (std::size_t j = 0; j <= text.size(); ++j) next[j] = any = static_cast<char>(any || matched[j]);
    } else {
      for (std::size_t j = 1; j <= text.size(); ++j) next[j] = matched[j - 1] && (p == '?' || p == text[j - 1]);
    }
    matched.swap(next);
  }
  return matched[text.size()] != 0;
}

bool is_glob(const SourceFilter& f) { return f.by_text(); }

std::optional<SourceFilter> check_filter(std::string_view text) {
  try {
    const SourceFilter filter = SourceFilter::parse(text);
    const SourceFilter again = SourceFilter::parse(filter.text);
    FUZZ_CHECK(again.text == filter.text && is_glob(again) == is_glob(filter),
               "\"" + escaped(text) + "\" → \"" + filter.text + "\" → \"" + again.text + "\"");
    if (!is_glob(filter) && filter.text != "*") {
      const store::IpRange range = store::IpRange::parse(text);
      FUZZ_CHECK(range.form() != store::IpRange::Form::span, "a span accepted: " + escaped(text));
      FUZZ_CHECK(range.to_string() == filter.text, "canonical text " + filter.text + " vs " + range.to_string());
    }
    return filter;
  } catch (const store::ValueError& e) {
    const std::string message = e.what();
    FUZZ_CHECK(!message.empty() && message[0] == '"', "refusal without the quoted text: " + escaped(message));
    FUZZ_CHECK(message.find("is not a source") != std::string::npos, "refusal does not say what: " + escaped(message));
    return std::nullopt;
  }
}

void check_address(std::string_view text, int v4_length, int v6_length, const std::optional<SourceFilter>& filter) {
  store::IpAddress address;
  try {
    address = store::IpAddress::parse(text);
  } catch (const store::ValueError&) {
    return;
  }
  const SourceKey own = reputation::address_key(address);
  const std::string own_text = reputation::to_string(own);
  FUZZ_CHECK(store::IpAddress::parse(own_text) == address, "address key text " + own_text);
  FUZZ_CHECK(!own.is_prefix(), "an address key is a prefix: " + own_text);

  const SourceKey prefix = reputation::prefix_key(address, v4_length, v6_length);
  const std::string prefix_text = reputation::to_string(prefix);
  FUZZ_CHECK(reputation::first_value(prefix) <= address.value() && address.value() <= reputation::last_value(prefix),
             prefix_text + " does not hold " + own_text);
  const SourceFilter block = SourceFilter::parse(prefix_text);
  FUZZ_CHECK(block.matches(prefix, prefix_text) && block.matches(own, own_text),
             "the filter " + prefix_text + " does not name its records");
  if (prefix.is_prefix()) {
    const store::IpRange range = store::IpRange::parse(prefix_text);
    FUZZ_CHECK(range.form() == store::IpRange::Form::cidr, "prefix text is not CIDR: " + prefix_text);
    FUZZ_CHECK(reputation::block_key(range.first(), prefix.length) == prefix, "prefix text round trip: " + prefix_text);
    FUZZ_CHECK(!SourceFilter::parse(own_text).matches(prefix, prefix_text), "the address filter names its prefix");
  }
  FUZZ_CHECK(SourceFilter::parse(own_text).matches(own, own_text), "the address filter misses " + own_text);

  if (filter && is_glob(*filter)) {
    for (const std::string* source : {&own_text, &prefix_text}) {
      const bool expected = reference_glob(filter->text, *source);
      FUZZ_CHECK(filter->matches(own, *source) == expected,
                 "glob " + filter->text + " on " + *source + ": reference says " + (expected ? "match" : "no match"));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::optional<SourceFilter> filter = check_filter(input.substr(0, newline));
  if (newline == std::string::npos) return 0;
  check_address(input.substr(newline + 1), static_cast<int>(size % 34), static_cast<int>(size % 130), filter);
  return 0;
}
