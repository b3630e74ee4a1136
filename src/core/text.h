// Trimming and splitting of short texts: CSV cells, comma-separated flag values, condition
// strings. The one copy of these helpers; every module uses it.
//
//   trim("  DPD\r")             // "DPD"
//   split("p_a, p_b", ',')      // {"p_a", "p_b"}
//   split("", ',')              // {}
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace scintigen {

// `s` without leading and trailing ASCII whitespace (space, tab, CR, LF, FF, VT).
std::string trim(std::string_view s);

// The pieces of `s` between separators, each trimmed; empty pieces are kept ("a,,b" gives
// three), an empty or all-blank `s` gives none.
std::vector<std::string> split(std::string_view s, char separator);

}  // namespace scintigen
