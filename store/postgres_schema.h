// The PostgreSQL schema as forward migrations, the counterpart of schema_migrations() for SQLite: the
// same tables and columns (one per property, canonical text), written in PostgreSQL's dialect.
// Migration N takes transportd_schema.version from N-1 to N; released ones are only appended to.
#pragma once

#include <span>
#include <string_view>

namespace transport::store {

std::span<const std::string_view> postgres_migrations();

}  // namespace transport::store
