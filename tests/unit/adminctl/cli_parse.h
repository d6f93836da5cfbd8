// adminctl unit tests: what main.cpp's CLI11 parser makes of a command line, without CLI11, and the
// plan built from it.
#pragma once

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "adminctl/arguments.h"
#include "adminctl/invocation.h"
#include "adminctl/usage_error.h"

namespace adminctl::testing {

inline Invocation parse(const std::vector<std::string>& args) {
  const PreparedArguments prepared = prepare_arguments(args);
  Invocation invocation;
  invocation.command = prepared.command;
  const auto& options = command_options(*prepared.command);
  for (std::size_t i = 1; i < prepared.args.size(); ++i) {
    const std::string& arg = prepared.args[i];
    // A flag's value comes after '=' (--confirm=false), as CLI11 reads it.
    const std::string name = arg.substr(0, arg.find('='));
    const auto option = std::find_if(options.begin(), options.end(),
                                     [&](const CommandOption& o) { return name == "--" + o.names.front(); });
    if (option == options.end()) {
      invocation.positionals.push_back(arg);
      continue;
    }
    const std::string value = option->takes_value           ? prepared.args.at(++i)
                              : name.size() < arg.size() ? arg.substr(name.size() + 1)
                                                         : "true";
    auto entry = std::find_if(invocation.given.begin(), invocation.given.end(),
                              [&](const auto& given) { return given.first == &*option; });
    if (entry == invocation.given.end()) {
      invocation.given.emplace_back(&*option, std::vector<std::string>{value});
    } else {
      entry->second.push_back(value);
    }
  }
  return invocation;
}

inline Plan plan(const std::vector<std::string>& args) {
  std::istringstream input;
  return plan_call(parse(args), input, [] { return std::string(); });
}

inline std::string usage_error(const std::vector<std::string>& args) {
  try {
    plan(args);
  } catch (const UsageError& error) {
    return error.what();
  }
  return "(no error)";
}

}  // namespace adminctl::testing
