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

std::string Error::describe() const {
  return compose(where_, reason_, hint_);
}

std::string context_place(const std::string& outer, const std::string& inner) {
  if (inner.empty()) return outer;
  if (outer.empty() || inner == outer) return inner;
  if (inner.compare(0, outer.size(), outer) == 0 && inner[outer.size()] == ':') return inner;
  return outer + ": " + inner;
}

}  // namespace scintigen
