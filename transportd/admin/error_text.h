// Error text fit for a gRPC status: messages quote the administrator's input, which can be megabytes
// long, and gRPC drops a status whose message exceeds its metadata limit (~8 KiB), leaving the client
// with "received initial metadata size exceeds limit" instead of the reason.
#pragma once

#include <string>
#include <string_view>

namespace transport::admin {

// Every "quoted" run longer than 120 bytes keeps its first 60 (cut at a UTF-8 boundary) and says how
// long it was: "aaaa…" (8000 characters). Whatever is still longer than 2,000 bytes is cut there.
std::string readable_error(std::string_view message);

}  // namespace transport::admin
