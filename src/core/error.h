// Error types and exit codes shared by every scintigen module.
//
//   throw InputError(path, "Rows is 0", "the file holds no image");
//   ...
//   catch (const Error& e) { print_error(e); return e.exit_code(); }
//
// Messages print as `error: <file>: <what> (hint: <how to fix>)`. Only `main` (and the
// server) catch; libraries throw. Per-item failures inside a batch are collected, not thrown.
#pragma once

#include <stdexcept>
#include <string>

namespace scintigen {

// Process exit codes (docs/ARCHITECTURE.md, rule 2): 0 success, 1 partial failure, 2 bad input or usage,
// 3 internal error.
enum ExitCode : int { kExitOk = 0, kExitPartial = 1, kExitBadInput = 2, kExitInternal = 3 };

class Error : public std::runtime_error {
 public:
  Error(std::string where, std::string what, std::string hint, int exit_code);
  const std::string& where() const { return where_; }
  const std::string& reason() const { return reason_; }
  const std::string& hint() const { return hint_; }
  int exit_code() const { return exit_code_; }
  // "error: <where>: <reason> (hint: <hint>)" without the "error: " prefix.
  std::string describe() const;

 private:
  std::string where_;
  std::string reason_;
  std::string hint_;
  int exit_code_;
};

// A file or value supplied by the user is wrong (exit 2).
class InputError : public Error {
 public:
  InputError(std::string where, std::string what, std::string hint = "")
      : Error(std::move(where), std::move(what), std::move(hint), kExitBadInput) {}
};

// A configuration or command-line value is wrong (exit 2).
class ConfigError : public Error {
 public:
  ConfigError(std::string where, std::string what, std::string hint = "")
      : Error(std::move(where), std::move(what), std::move(hint), kExitBadInput) {}
};

// Something that should not happen: an I/O failure on our own files, a broken invariant (exit 3).
class InternalError : public Error {
 public:
  InternalError(std::string where, std::string what, std::string hint = "")
      : Error(std::move(where), std::move(what), std::move(hint), kExitInternal) {}
};

// The place of an error raised at `inner` and reported from `outer` (see in_context).
std::string context_place(const std::string& outer, const std::string& inner);

// The same error seen from further out, as class E (which decides the exit code): the reason and
// hint are kept, never folded into one string. The place becomes `outer` when the error named none
// or named `outer` already (or a place inside it, "file:3" in "file"), else "outer: inner place".
// `prefix` goes before the reason, `more_hint` after the hint.
//
//   try { parse_condition(text, spec, "mix.txt:2"); }
//   catch (const ConfigError& e) { throw in_context<InputError>(e, "mix.txt:2"); }
//   // error: mix.txt:2: value '5' is not allowed for cardiac_grade (hint: allowed values ...)
template <typename E>
E in_context(const Error& e, const std::string& outer, const std::string& prefix = "",
             const std::string& more_hint = "") {
  return E(context_place(outer, e.where()), prefix + e.reason(),
           e.hint().empty() || more_hint.empty() ? e.hint() + more_hint : e.hint() + "; " + more_hint);
}

}  // namespace scintigen
