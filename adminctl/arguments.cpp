// adminctl: per-command option lists and the argv rewriting that maps Exchange spellings to them.
#include "adminctl/arguments.h"

#include <algorithm>
#include <map>
#include <optional>

#include "adminctl/properties.h"
#include "adminctl/text.h"
#include "adminctl/usage_error.h"
#include "adminctl/usage_presets.h"

namespace adminctl {

bool is_admin_endpoint(std::string_view value) { return value.find_first_of(":/") != std::string_view::npos; }

const std::vector<CommandOption>& global_options() {
  static const std::vector<CommandOption> options{
      {OptionRole::Server, {"server"}, true,
       "the transportd admin endpoint, unix:PATH or a socket path (default: $ADMINCTL_SERVER, else "
       "unix:/var/lib/transportd/admin.sock)"},
      {OptionRole::Help, {"help", "h", "?"}, false, "show help"},
      {OptionRole::Version, {"version"}, false, "print adminctl's version and exit"},
  };
  return options;
}

namespace {

// --usage's --help text: each preset and what it sets.
std::string usage_help() {
  std::string help = "a preset like Exchange's usage types, one of " + usage_preset_names() +
                     " (any case); flags given explicitly override the preset's values:";
  for (const auto& preset : usage_presets()) {
    help += "\n  " + preset.name + ": ";
    if (preset.values.empty()) help += "(all defaults)";
    for (std::size_t i = 0; i < preset.values.size(); ++i) {
      const auto& [field_name, values] = preset.values[i];
      const auto* field = transport::admin::v1::ReceiveConnector::descriptor()->FindFieldByName(field_name);
      help += (i == 0 ? "" : "; ") + (field != nullptr ? exchange_name(*field) : field_name) + " " + join(values, ",");
    }
  }
  return help;
}

std::vector<CommandOption> build_command_options(const Command& command) {
  std::vector<CommandOption> options;
  const ObjectKind& kind = *command.kind;
  const bool takes_identities =
      (!kind.singleton && !kind.query &&
       (command.verb == Verb::Get || command.verb == Verb::Set || command.verb == Verb::Remove ||
        command.verb == Verb::Retry || command.verb == Verb::Suspend || command.verb == Verb::Resume)) ||
      command.verb == Verb::Clear;
  if (takes_identities) {
    options.push_back({OptionRole::Identity, {"identity"}, true,
                       command.verb == Verb::Clear
                           ? "the address, prefix or glob, instead of the argument (Exchange's -Identity)"
                           : "an identity or pattern, like a positional one (Exchange's -Identity); may be repeated"});
  }
  if (command.verb == Verb::Get) {
    std::string names;
    for (const auto* field : all_fields(*kind.message)) names += (names.empty() ? "" : ", ") + exchange_name(*field);
    options.push_back({OptionRole::Select, {"select"}, true,
                       "the properties to show, comma-separated, in this order; * for all. Properties: " + names});
    options.push_back({OptionRole::Format, {"format"}, true,
                       kind.singleton || kind.query ? "table (default), list or json"
                                                    : "table (default), list, json or name"});
  }
  if (command.verb == Verb::Get && kind.query) {
    for (const auto* field : all_fields(*command.rpc->input_type())) {
      options.push_back({OptionRole::Filter, flag_names(*field), true, flag_help(*field, false), field});
    }
  } else if (command.verb == Verb::Get || command.verb == Verb::Remove) {
    // A request's fields besides the identities are flags too (get-message --queue, remove-message
    // --with-ndr).
    for (const auto* field : all_fields(*command.rpc->input_type())) {
      if (field->name() == "identities" || field->name() == "what_if") continue;
      std::string help = flag_help(*field, false);
      if (field->name() == "server") {
        help += ". A value with ':' or '/' (unix:PATH, a socket path) is the admin endpoint, as before the command";
      }
      options.push_back({OptionRole::Filter, flag_names(*field), true, help, field});
    }
  }
  if (command.verb == Verb::New && has_usage_presets(kind)) {
    options.push_back({OptionRole::Usage, {"usage"}, true, usage_help()});
  }
  if (command.verb == Verb::New || command.verb == Verb::Set) {
    for (const auto* field : settable_fields(*kind.message)) {
      options.push_back(
          {OptionRole::Property, flag_names(*field), true, flag_help(*field, command.verb == Verb::New), field});
    }
    if (command.verb == Verb::Set) {
      for (const auto* field : settable_fields(*kind.message)) {
        if (!field->is_repeated()) continue;
        const std::string& name = exchange_name(*field);
        options.push_back({OptionRole::ListAdd, {"add-" + kebab_name(*field)}, true,
                           "entries to add to " + name + " (comma-separated or repeated); the others stay", field});
        options.push_back({OptionRole::ListRemove, {"remove-" + kebab_name(*field)}, true,
                           "entries to remove from " + name + " (comma-separated or repeated); the others stay",
                           field});
      }
    }
    if (kind.has_password) {
      // A send connector's password belongs to its AuthenticationCredential; a mailbox's is its own.
      const bool credential = kind.noun == "SendConnector";
      const std::string whose = credential ? "AuthenticationCredential's password" : "the password";
      options.push_back({OptionRole::PasswordStdin, {"password-stdin", "PasswordStdin"}, false,
                         "read " + whose + " from the first line of standard input"});
      options.push_back({OptionRole::PasswordPrompt, {"password-prompt", "PasswordPrompt"}, false,
                         "prompt for " + whose + " twice on the terminal, without echo"});
      if (command.verb == Verb::Set) {
        options.push_back({OptionRole::ClearPassword, {"clear-password", "ClearPassword"}, false,
                           credential ? "remove AuthenticationCredential's password"
                                      : "remove the password: the mailbox can no longer authenticate"});
      }
    }
  }
  if (command.verb == Verb::New || command.verb == Verb::Set || command.verb == Verb::Remove) {
    options.push_back({OptionRole::WhatIf, {"what-if", "WhatIf"}, false,
                       "show what would change, change nothing (the server checks it like the real change)"});
  }
  if (command.verb == Verb::Remove) {
    options.push_back({OptionRole::Confirm, {"confirm"}, false,
                       "--confirm:$false (or --confirm=false): remove without asking, even when several objects or "
                       "the last connector on a Binding would go; --confirm: always ask"});
  }
  if (command.verb == Verb::Clear) {
    options.push_back({OptionRole::Confirm, {"confirm"}, false,
                       "--confirm:$false (or --confirm=false): clear without asking, even for a prefix or a glob "
                       "that may name many sources; --confirm: always ask"});
  }
  if (command.verb == Verb::Test && is_route_test(kind)) {
    options.push_back({OptionRole::Authenticated, {"authenticated", "Authenticated"}, true,
                       "true: a session that may relay (an AUTH user, or a connection an ExternalAuthoritative "
                       "connector serves); false (default): an anonymous one"});
  } else if (command.verb == Verb::Test) {
    options.push_back({OptionRole::RemoteIp, {"remote-ip", "RemoteIp", "RemoteIPAddress"}, true,
                       "the client's address, e.g. 127.0.0.2 or 2001:db8::1 (required)"});
    options.push_back({OptionRole::Local, {"local", "local-endpoint", "LocalEndpoint"}, true,
                       "the local IP:port the client connects to, e.g. 127.0.0.1:25 (required)"});
  }
  return options;
}

// An option as typed: its name without the dashes, and the value joined to it by ':' or '=' (option
// names never contain either, so the first of them separates the value). Null for a non-option.
struct OptionText {
  std::string_view name;
  std::optional<std::string> value;
};
std::optional<OptionText> option_text(const std::string& arg) {
  if (arg.size() < 2 || arg[0] != '-') return std::nullopt;
  const std::string_view body = std::string_view(arg).substr(arg[1] == '-' ? 2 : 1);
  const auto separator = body.find_first_of(":=");
  OptionText text{body.substr(0, separator), std::nullopt};
  if (separator != std::string_view::npos) text.value = std::string(body.substr(separator + 1));
  return text;
}

bool has_server_filter(const Command& command) {
  const auto& options = command_options(command);
  return std::any_of(options.begin(), options.end(), [](const CommandOption& option) {
    return option.role == OptionRole::Filter && option.field->name() == "server";
  });
}

// get-receiveconnector --server HOST is Exchange's -Server (whose connectors to show), while an admin
// endpoint after the command word (--server unix:PATH) must stay one: such options move before the
// command word, where the parser gives --server to the global option.
std::vector<std::string> endpoints_before_command(const std::vector<std::string>& args, std::size_t command_at) {
  std::vector<std::string> endpoints, rest;
  for (std::size_t i = command_at + 1; i < args.size(); ++i) {
    if (args[i] == "--") {
      rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    const auto option = option_text(args[i]);
    if (option && iequals(option->name, "server")) {
      const bool joined = option->value.has_value();
      const std::string* value = joined ? &*option->value : (i + 1 < args.size() ? &args[i + 1] : nullptr);
      if (value != nullptr && is_admin_endpoint(*value)) {
        endpoints.push_back(args[i]);
        if (!joined) endpoints.push_back(args[++i]);
        continue;
      }
    }
    rest.push_back(args[i]);
  }
  std::vector<std::string> out(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(command_at));
  out.insert(out.end(), endpoints.begin(), endpoints.end());
  out.push_back(args[command_at]);
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

const CommandOption* find_option(const std::vector<const CommandOption*>& known, std::string_view name) {
  for (const auto* option : known) {
    for (const auto& candidate : option->names) {
      if (iequals(candidate, name)) return option;
    }
  }
  return nullptr;
}

}  // namespace

const std::vector<CommandOption>& command_options(const Command& command) {
  static const std::map<const Command*, std::vector<CommandOption>> all = [] {
    std::map<const Command*, std::vector<CommandOption>> built;
    for (const auto& c : commands()) built.emplace(&c, build_command_options(c));
    return built;
  }();
  return all.at(&command);
}

std::vector<std::string> rewrite_arguments(const std::vector<std::string>& args,
                                           const std::vector<const CommandOption*>& known) {
  std::vector<std::string> out;
  out.reserve(args.size());
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out.insert(out.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    auto text = option_text(arg);
    if (!text) {
      out.push_back(arg);
      continue;
    }
    const std::string_view name = text->name;
    std::optional<std::string>& value = text->value;

    if (iequals(name, "password")) {
      throw UsageError("passwords are never taken as a command-line value (they would show in the process "
                       "list and shell history); use --password-stdin or --password-prompt");
    }
    const CommandOption* option = find_option(known, name);
    if (option == nullptr) {
      out.push_back(arg);
      continue;
    }
    // The value goes in its own argument: CLI11 takes the argument after an option that needs one
    // whatever it looks like ("-x", ""), while "--name=" would make it take the next one instead.
    out.push_back("--" + option->names.front());
    if (option->takes_value) {
      if (value) {
        out.push_back(std::move(*value));
      } else if (i + 1 < args.size()) {
        out.push_back(args[++i]);
      }
    } else if (value) {
      out.back() += "=" + *value;
    }
  }
  return out;
}

PreparedArguments prepare_arguments(const std::vector<std::string>& args) {
  std::vector<const CommandOption*> known;
  for (const auto& option : global_options()) known.push_back(&option);

  // The command word is the first argument that is neither an option nor a global option's value.
  std::optional<std::size_t> command_at;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    if (const auto text = option_text(arg)) {
      const auto* option = find_option(known, text->name);
      if (option != nullptr && option->takes_value && !text->value) ++i;
      continue;
    }
    command_at = i;
    break;
  }

  PreparedArguments prepared;
  std::vector<std::string> input = args;
  if (command_at) {
    prepared.command = find_command(args[*command_at]);
    if (prepared.command == nullptr) {
      throw UsageError("unknown command '" + args[*command_at] + "'; run 'adminctl --help' for the list");
    }
    input[*command_at] = prepared.command->name;
    if (has_server_filter(*prepared.command)) input = endpoints_before_command(input, *command_at);
    for (const auto& option : command_options(*prepared.command)) known.push_back(&option);
  }
  prepared.args = rewrite_arguments(input, known);
  return prepared;
}

}  // namespace adminctl
