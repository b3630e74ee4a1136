#include "core/text.h"

namespace scintigen {

namespace {

constexpr std::string_view kWhitespace = " \t\r\n\f\v";

}  // namespace

std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(kWhitespace);
  if (b == std::string_view::npos) return "";
  return std::string(s.substr(b, s.find_last_not_of(kWhitespace) - b + 1));
}

std::vector<std::string> split(std::string_view s, char separator) {
  std::vector<std::string> out;
  if (trim(s).empty()) return out;
  for (size_t b = 0;;) {
    const size_t e = s.find(separator, b);
    out.push_back(trim(s.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b)));
    if (e == std::string_view::npos) return out;
    b = e + 1;
  }
}

}  // namespace scintigen
