// Runs a command body, turning every exception into an `error: ...` line and an exit code
// (docs/ARCHITECTURE.md, rule 2): scintigen errors keep their own code, anything else is internal (3).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <new>

#include "core/error.h"

namespace scintigen::cli {

template <typename F>
int run_guarded(F&& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.describe().c_str());
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory\n");
    return kExitInternal;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: internal: %s (hint: please report this)\n", e.what());
    return kExitInternal;
  }
}

// Parses a CLI11 app; returns -1 to go on, or the exit code to return (0 after --help,
// 2 after a usage error, printed as `error: <program>: <what> (hint: ...)`).
int parse_cli(CLI::App& app, int argc, char** argv);

}  // namespace scintigen::cli
