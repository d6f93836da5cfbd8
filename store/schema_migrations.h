// The SQLite schema as a list of forward migrations. Migration N (1-based) takes PRAGMA user_version
// from N-1 to N; released migrations are never edited, only appended to.
#pragma once

#include <span>
#include <string_view>

namespace transport::store {

std::span<const std::string_view> schema_migrations();

}  // namespace transport::store
