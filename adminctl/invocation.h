// adminctl: from a parsed command line to a request, and from the response to output. Everything
// here is pure: standard input and the password prompt are passed in, the RPC is made by the caller.
#pragma once

#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adminctl/arguments.h"
#include "adminctl/command_table.h"
#include "adminctl/output_format.h"

namespace adminctl {

// What the CLI parser collected for one command.
struct Invocation {
  const Command* command = nullptr;
  std::vector<std::string> positionals;  // identities (or the new object's identity)
  // Each option that was given, with the values of all its occurrences ("true" for a flag).
  std::vector<std::pair<const CommandOption*, std::vector<std::string>>> given;
};

struct OutputSettings {
  OutputFormat format = OutputFormat::Table;
  Properties properties;  // what to show, in order
};

struct Plan {
  const Command* command = nullptr;
  std::unique_ptr<google::protobuf::Message> request;  // of type command->rpc->input_type()
  OutputSettings output;
};

// Asks for a new password on the terminal (twice, without echo); throws UsageError when they differ.
using PasswordPrompt = std::function<std::string()>;

// Builds the request. Reads identities ("-") or the password (--password-stdin) from input. Throws
// UsageError for anything wrong with the command line.
Plan plan_call(const Invocation& invocation, std::istream& input, const PasswordPrompt& prompt);

// What to print on standard output for the RPC's response (of type command->rpc->output_type()).
std::string render_response(const Plan& plan, const google::protobuf::Message& response);

// Identities from a stream, one per line, trimmed; blank lines skipped.
std::vector<std::string> read_identity_lines(std::istream& input);

// The first line of a stream without its line ending; nullopt at end of input.
std::optional<std::string> read_password_line(std::istream& input);

inline constexpr const char* kDefaultServer = "unix:/var/lib/transportd/admin.sock";

// The gRPC target: --server, else $ADMINCTL_SERVER (when set and not empty), else kDefaultServer;
// a bare socket path gets "unix:" in front.
std::string server_target(const std::optional<std::string>& flag, const char* environment);

}  // namespace adminctl
