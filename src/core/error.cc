#include "core/error.h"

namespace scintigen {

namespace {
std::string compose(const std::string& where, const std::string& what, const std::string& hint) {
  std::string s = where.empty() ? what : where + ": " + what;
  if (!hint.empty()) s += " (hint: " + hint + ")";
  return s;
}
}  // namespace

Error::Error(std::string where, std::string what, std::string hint, int exit_code)
    : std::runtime_error(compose(where, what, hint)),
      where_(std::move(where)),
      reason_(std::move(what)),
      hint_(std::move(hint)),
      exit_code_(exit_code) {}

std::string Error::describe() const { return compose(where_, reason_, hint_); }

}  // namespace scintigen
