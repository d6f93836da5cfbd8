// adminctl: the options each command accepts, and the argv rewriting that lets CLI11 parse the
// Exchange spellings: "-TarpitInterval 00:00:10", "-Enabled:$false", any case. CLI11 itself is not
// used here; main.cpp builds its parser from command_options().
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "adminctl/command_table.h"

namespace adminctl {

enum class OptionRole {
  Server,          // --server (global)
  Help,            // --help, -h (CLI11 provides the option; listed here so -Help is rewritten)
  Version,         // --version (global; CLI11's version flag)
  Identity,        // get-/set-/remove-/clear-: --identity X, Exchange's -Identity (same as a positional identity)
  Property,        // a property of the object kind (--tarpit-interval)
  ListAdd,         // set-*: --add-remote-ip-ranges, entries to add to a list property (field)
  ListRemove,      // set-*: --remove-remote-ip-ranges, entries to remove from a list property (field)
  WhatIf,          // new-/set-/remove-*: --what-if, show what would change and change nothing
  Confirm,         // remove-/clear-*: --confirm:$false goes ahead without asking; --confirm always asks
  Select,          // get-*: --select
  Format,          // get-*: --format
  PasswordStdin,   // new-/set-mailbox, new-/set-sendconnector
  PasswordPrompt,  // new-/set-mailbox, new-/set-sendconnector
  ClearPassword,   // set-mailbox, set-sendconnector
  RemoteIp,        // test-receiveconnector
  Local,           // test-receiveconnector
  Authenticated,   // test-route: --authenticated true|false
  Usage,           // new-receiveconnector: --usage Internet|Internal|Client|Partner|Custom|Trusted
  Filter,          // get-* of a query kind: a field of the request (--sender, --event-id)
};

struct CommandOption {
  OptionRole role;
  std::vector<std::string> names;  // long names without dashes; the first is the canonical one
  bool takes_value;
  std::string help;
  // For OptionRole::Property, ListAdd and ListRemove, a field of the object; for OptionRole::Filter, a
  // field of the request.
  const google::protobuf::FieldDescriptor* field = nullptr;
};

// Options valid before and after the command: --server, --help, --version.
const std::vector<CommandOption>& global_options();

// Whether a --server value is an admin endpoint (unix:PATH, a socket path with '/') rather than a
// server's name (which has neither ':' nor '/'): after get-receiveconnector, --server names a server
// unless its value is an endpoint.
bool is_admin_endpoint(std::string_view value);

// The options of one command (not the global ones), in --help order.
const std::vector<CommandOption>& command_options(const Command& command);

// Rewrites arguments (argv without argv[0]) so that every known option (case-insensitive, one or two
// dashes) appears in its canonical two-dash spelling, followed by its value as the next argument:
//   -TarpitInterval 00:00:10  -> --tarpit-interval 00:00:10
//   -Enabled:$false           -> --enabled $false
//   --Comment=-x              -> --comment -x   (a value may start with '-' or be empty)
// Unknown options, positionals and everything after "--" are left alone. An option named
// "password" is refused (UsageError): passwords never travel on the command line.
std::vector<std::string> rewrite_arguments(const std::vector<std::string>& args,
                                           const std::vector<const CommandOption*>& known);

struct PreparedArguments {
  std::vector<std::string> args;      // rewritten; the command word in its canonical lower case
  const Command* command = nullptr;   // null when no command word was given
};

// Finds the command word (the first positional), then rewrites with the global and that command's
// options. Throws UsageError for an unknown command word.
PreparedArguments prepare_arguments(const std::vector<std::string>& args);

}  // namespace adminctl
