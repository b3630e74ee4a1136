// Small helpers shared by the subcommand files.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace scintigen::cli {

// Parses "WxH" (e.g. "256x1024"); throws ConfigError naming `flag`.
std::pair<int, int> parse_size(const std::string& text, const std::string& flag);

// Values of a repeatable flag whose items may also be comma-separated: {"a,b", "c"} -> a, b, c.
std::vector<std::string> split_commas(const std::vector<std::string>& items);

}  // namespace scintigen::cli
