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

// remove-* and clear-*: whether to ask first.
enum class Confirmation {
  WhenNeeded,  // (default) remove-*: when more than one object or the last connector on a Binding would
               // go; clear-*: when the identity is a prefix or a glob
  Never,       // --confirm:$false
  Always,      // --confirm, --confirm:$true
};

struct Plan {
  const Command* command = nullptr;
  std::unique_ptr<google::protobuf::Message> request;  // of type command->rpc->input_type()
  OutputSettings output;
  bool what_if = false;  // --what-if: request.what_if is set, the output says what would change
  Confirmation confirmation = Confirmation::WhenNeeded;
  Properties changed;  // set-*: the properties given a value or list edits, in field order
};

// Asks for a new password on the terminal (twice, without echo); throws UsageError when they differ.
using PasswordPrompt = std::function<std::string()>;

// Builds the request. Reads identities ("-") or the password (--password-stdin) from input. Throws
// UsageError for anything wrong with the command line, then OutOfRange for a number too large for
// its field (so that a command line with both gets the usage error).
Plan plan_call(const Invocation& invocation, std::istream& input, const PasswordPrompt& prompt);

// remove-*: the question to ask before removing what a what-if call said would be removed, or nullopt
// when the removal may go ahead without one (plan.confirmation and the response decide).
std::optional<std::string> removal_question(const Plan& plan, const transport::admin::v1::RemoveResponse& would_remove);

// remove-*: why a removal that needs confirmation was not made when nobody could be asked (exit 2).
std::string confirmation_needed(const Plan& plan, const transport::admin::v1::RemoveResponse& would_remove);

// clear-*: the question to ask before forgetting what the identity names (a prefix or a glob may name
// many sources; an address one), or nullopt when it may go ahead (plan.confirmation decides too).
std::optional<std::string> clearing_question(const Plan& plan);

// clear-*: why a clearing that needs confirmation was not made when nobody could be asked (exit 2).
std::string clearing_needs_confirmation(const Plan& plan);

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
