// adminctl: asking the administrator at the terminal before a removal that needs confirmation.
#pragma once

#include <optional>
#include <string>

namespace adminctl {

// Writes the question to standard error and reads the answer from standard input: true for y or yes
// (any case), false for anything else. nullopt when standard input or standard error is not a
// terminal: nobody is there to answer.
std::optional<bool> ask_yes_no(const std::string& question);

}  // namespace adminctl
