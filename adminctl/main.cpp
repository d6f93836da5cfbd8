// adminctl: entry point and the only translation unit that includes CLI11. Builds one CLI11
// subcommand per entry of the command table, parses the rewritten argv, then plans, calls, prints.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "adminctl/admin_client.h"
#include "adminctl/arguments.h"
#include "adminctl/confirmation_prompt.h"
#include "adminctl/invocation.h"
#include "adminctl/password_prompt.h"
#include "adminctl/usage_error.h"
#include "adminctl/usage_presets.h"
#include "transportd/observability/version.h"

namespace {

using namespace adminctl;

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;

struct Subcommand {
  const Command* command = nullptr;
  CLI::App* app = nullptr;
  std::vector<std::pair<const CommandOption*, CLI::Option*>> options;
  std::vector<std::string> positionals;
};

std::string option_names(const CommandOption& option) {
  std::string names;
  for (const auto& name : option.names) {
    if (name.size() < 2) continue;  // CLI11 long names need two characters; -h is CLI11's own
    if (!names.empty()) names += ",";
    names += "--" + name;
  }
  return names;
}

std::string positional_help(const Command& command) {
  const ObjectKind& kind = *command.kind;
  if (command.verb == Verb::New) {
    return "the new " + kind.noun + "'s " + kind.identity_field->json_name();
  }
  if (command.verb == Verb::Test && is_route_test(kind)) {
    return "the recipient: local@domain, or postmaster alone (RCPT TO:<Postmaster>)";
  }
  if (command.verb == Verb::Clear || kind.query_identity_field != nullptr) {
    return "an address (192.0.2.7), a prefix (192.0.2.0/24: it and every address in it) or a glob (192.0.2.*, '*')" +
           std::string(command.verb == Verb::Get ? "; none = all" : "");
  }
  return "identities or glob patterns ('*', 'Default*'), with or without HOST\\; - reads them from standard "
         "input, one per line" + std::string(command.verb == Verb::Get ? "; none = all" : "");
}

// The placeholder --help shows after a flag.
std::string value_name(const CommandOption& option) {
  if (option.role == OptionRole::Usage) return usage_preset_names("|");
  if (option.role != OptionRole::Property && option.role != OptionRole::Filter) return "VALUE";
  if (option.field->is_repeated()) return "LIST";
  switch (option.field->cpp_type()) {
    case google::protobuf::FieldDescriptor::CPPTYPE_BOOL: return "BOOL";
    case google::protobuf::FieldDescriptor::CPPTYPE_INT32: return "NUMBER";
    default: return "TEXT";
  }
}

// with_options: only the invoked command gets its flags. CLI11 checks each new flag against every
// flag already added, which made registering all of them about a quarter of adminctl's start-up.
void add_subcommand(CLI::App& app, const Command& command, Subcommand& sub, bool with_options) {
  sub.command = &command;
  sub.app = app.add_subcommand(command.name, command.summary);
  sub.app->ignore_case();
  sub.app->fallthrough();  // --server after the command
  if (!with_options) return;
  for (const auto& option : command_options(command)) {
    CLI::Option* cli_option = option.takes_value ? sub.app->add_option(option_names(option))
                                                 : sub.app->add_flag(option_names(option));
    cli_option->description(option.help);
    if (option.takes_value) cli_option->type_name(value_name(option));
    cli_option->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    sub.options.emplace_back(&option, cli_option);
  }
  const bool takes_identities = (command.verb != Verb::Test && !command.kind->singleton && !command.kind->query) ||
                                command.verb == Verb::Clear || command.kind->query_identity_field != nullptr;
  if (command.verb == Verb::Test && is_route_test(*command.kind)) {
    sub.app->add_option("recipient", sub.positionals, positional_help(command))->type_name("RECIPIENT");
  } else if (takes_identities) {
    sub.app->add_option(command.verb == Verb::New ? "name" : "identities", sub.positionals, positional_help(command))
        ->type_name(command.verb == Verb::New ? "NAME" : "IDENTITY");
  }
}

Invocation invocation_of(const Subcommand& sub) {
  Invocation invocation;
  invocation.command = sub.command;
  invocation.positionals = sub.positionals;
  for (const auto& [option, cli_option] : sub.options) {
    if (cli_option->count() == 0) continue;
    // A flag's result is "true", or the value after '=' (--confirm=false, -Confirm:$false).
    invocation.given.emplace_back(option, cli_option->results());
  }
  return invocation;
}

const CommandOption& global_option(OptionRole role) {
  for (const auto& option : global_options()) {
    if (option.role == role) return option;
  }
  throw std::logic_error("no global option of that role");
}

// One call; prints the server's refusal or unreachability and returns its exit code, or nullopt.
std::optional<int> call_or_report(const std::string& target, const google::protobuf::MethodDescriptor& rpc,
                                  const google::protobuf::Message& request, google::protobuf::Message& response) {
  const CallResult result = call_admin(target, rpc, request, response);
  switch (result.outcome) {
    case CallOutcome::Ok:
      for (const auto& warning : result.warnings) std::cerr << "adminctl: warning: " << warning << "\n";
      return std::nullopt;
    case CallOutcome::Refused:
      std::cerr << "adminctl: " << result.message << "\n";
      return kExitRefused;
    case CallOutcome::Unreachable:
      std::cerr << "adminctl: cannot reach transportd at " << target << " (" << result.message << "); "
                << (result.message.find("Permission denied") != std::string::npos
                        ? "the admin socket is mode 0600: run adminctl as the user transportd runs as, or root\n"
                        : "is it running? Use --server or ADMINCTL_SERVER\n");
      return kExitUnreachable;
  }
  return kExitRefused;
}

// remove-* without --what-if: the server first says, as a what-if, what would go; a removal of several
// objects or of a Binding's last connector is confirmed on the terminal (or by --confirm:$false), and
// then exactly the objects named are removed. Returns an exit code to stop with, or nullopt to go on.
std::optional<int> confirm_removal(const std::string& target, Plan& plan) {
  const auto& rpc = *plan.command->rpc;
  std::unique_ptr<google::protobuf::Message> dry_run(plan.request->New());
  dry_run->CopyFrom(*plan.request);
  const auto* what_if = dry_run->GetDescriptor()->FindFieldByName("what_if");
  dry_run->GetReflection()->SetBool(dry_run.get(), what_if, true);
  transport::admin::v1::RemoveResponse would_remove;
  if (const auto stop = call_or_report(target, rpc, *dry_run, would_remove)) return stop;
  if (const auto question = removal_question(plan, would_remove)) {
    const std::optional<bool> answer = ask_yes_no(*question);
    if (!answer) throw UsageError(confirmation_needed(plan, would_remove));
    if (!*answer) {
      std::cerr << "adminctl: not confirmed; nothing was removed\n";
      return kExitRefused;
    }
  }
  // Exactly what was confirmed, even if a pattern would match more by now.
  const auto* identities = plan.request->GetDescriptor()->FindFieldByName("identities");
  plan.request->GetReflection()->ClearField(plan.request.get(), identities);
  for (const auto& identity : would_remove.removed()) {
    plan.request->GetReflection()->AddString(plan.request.get(), identities, identity);
  }
  return std::nullopt;
}

int run(int argc, char** argv) {
  const PreparedArguments prepared = prepare_arguments(std::vector<std::string>(argv + 1, argv + argc));

  CLI::App app("Administer transportd through its admin API (unix socket). Property flags are kebab-case "
               "(--tarpit-interval); the Exchange spelling works too (-TarpitInterval, -Enabled:$false).\n"
               "Exit codes: 0 ok, 1 the server refused, 2 usage error, 3 server unreachable.",
               "adminctl");
  app.option_defaults()->ignore_case();
  app.failure_message([](const CLI::App*, const CLI::Error& error) {
    return "adminctl: " + std::string(error.what()) + "\nRun 'adminctl --help' or 'adminctl COMMAND --help'.\n";
  });
  app.require_subcommand(1);
  app.get_formatter()->column_width(36);
  app.set_version_flag("--version", "adminctl " TRANSPORTD_VERSION, global_option(OptionRole::Version).help);
  std::string server;
  const CLI::Option* server_option =
      app.add_option("--server", server, global_options().front().help)->type_name("unix:PATH");

  std::vector<Subcommand> subcommands(commands().size());
  for (std::size_t i = 0; i < commands().size(); ++i) {
    add_subcommand(app, commands()[i], subcommands[i], &commands()[i] == prepared.command);
  }

  try {
    std::vector<std::string> reversed(prepared.args.rbegin(), prepared.args.rend());
    app.parse(reversed);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? kExitOk : kExitUsage;
  }

  const auto chosen = std::find_if(subcommands.begin(), subcommands.end(),
                                   [](const Subcommand& sub) { return sub.app->parsed(); });
  if (chosen == subcommands.end()) throw UsageError("no command given; run 'adminctl --help' for the list");

  const std::string target =
      server_target(server_option->count() > 0 ? std::optional<std::string>(server) : std::nullopt,
                    std::getenv("ADMINCTL_SERVER"));
  Plan plan = plan_call(invocation_of(*chosen), std::cin, prompt_new_password);
  if (plan.command->verb == Verb::Remove && !plan.what_if) {
    if (const auto stop = confirm_removal(target, plan)) return *stop;
  }
  if (plan.command->verb == Verb::Clear) {
    if (const auto question = clearing_question(plan)) {
      const std::optional<bool> answer = ask_yes_no(*question);
      if (!answer) throw UsageError(clearing_needs_confirmation(plan));
      if (!*answer) {
        std::cerr << "adminctl: not confirmed; nothing was cleared\n";
        return kExitRefused;
      }
    }
  }

  const auto& rpc = *plan.command->rpc;
  std::unique_ptr<google::protobuf::Message> response(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(rpc.output_type())->New());
  if (const auto stop = call_or_report(target, rpc, *plan.request, *response)) return *stop;
  std::cout << render_response(plan, *response) << std::flush;
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const UsageError& error) {
    std::cerr << "adminctl: " << error.what() << "\n";
    return kExitUsage;
  } catch (const OutOfRange& error) {
    std::cerr << "adminctl: " << error.what() << "\n";
    return kExitRefused;
  }
}
