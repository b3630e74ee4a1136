// Small helpers shared by the subcommand files.
#pragma once

#include <string>
#include <utility>

#include "core/error.h"

namespace scintigen::cli {

// Parses "WxH" (e.g. "256x1024"); throws ConfigError naming `flag`.
std::pair<int, int> parse_size(const std::string& text, const std::string& flag);

}  // namespace scintigen::cli
