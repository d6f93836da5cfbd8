// adminctl: reading a new password from the terminal (/dev/tty), twice, with echo off.
#pragma once

#include <string>

namespace adminctl {

// Prompts on /dev/tty; throws UsageError when there is no terminal or the two entries differ.
std::string prompt_new_password();

}  // namespace adminctl
