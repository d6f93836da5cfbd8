// adminctl: the y/N question of remove-* on a terminal.
#include "adminctl/confirmation_prompt.h"

#include <unistd.h>

#include <iostream>

#include "adminctl/text.h"

namespace adminctl {

std::optional<bool> ask_yes_no(const std::string& question) {
  if (!::isatty(STDIN_FILENO) || !::isatty(STDERR_FILENO)) return std::nullopt;
  std::cerr << question << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  const auto word = trim(answer);
  return iequals(word, "y") || iequals(word, "yes");
}

}  // namespace adminctl
