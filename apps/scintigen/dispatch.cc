#include <algorithm>
#include <cstdio>
#include <cstring>

#include "commands.h"
#include "core/error.h"
#include "run_guard.h"

namespace scintigen::cli {

namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

void print_table(const std::string& program, const std::string& summary, const std::vector<Command>& table) {
  std::printf("%s: %s\n\nUsage: %s <command> [options]   (%s <command> --help for its options)\n\nCommands:\n",
              program.c_str(), summary.c_str(), program.c_str(), program.c_str());
  for (const auto& c : table) std::printf("  %-12s %s\n", c.name, c.summary);
}
}  // namespace

std::string suggest(const std::string& typo, const std::vector<std::string>& names) {
  std::string best;
  size_t best_d = std::max<size_t>(2, typo.size() / 3) + 1;
  for (const auto& n : names) {
    size_t d = edit_distance(typo, n);
    if (n.rfind(typo, 0) == 0 && typo.size() >= 3) d = std::min<size_t>(d, 1);  // a prefix
    if (d < best_d) best_d = d, best = n;
  }
  return best;
}

int dispatch(const std::string& program, const std::string& summary, const std::vector<Command>& table, int argc,
             char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "help")) {
    print_table(program, summary, table);
    return argc < 2 ? kExitBadInput : kExitOk;
  }
  const std::string name = argv[1];
  for (const auto& c : table)
    if (name == c.name) return c.fn(argc - 1, argv + 1);
  std::vector<std::string> names;
  for (const auto& c : table) names.push_back(c.name);
  const std::string s = suggest(name, names);
  throw InputError(program, "unknown command '" + name + "'",
                   s.empty() ? "run '" + program + " --help' for the list" : "did you mean '" + s + "'?");
}

int parse_cli(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", app.help().c_str());
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    std::printf("%s", app.help("", CLI::AppFormatMode::All).c_str());
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::string hint = "run '" + app.get_name() + " --help' for the options";
    std::string what = e.what();
    // Suggest the closest option for an unknown flag ("The following arguments were not expected: --sed").
    auto pos = what.find("not expected: ");
    if (pos != std::string::npos) {
      std::string bad = what.substr(pos + 14);
      bad = bad.substr(0, bad.find(' '));
      std::vector<std::string> names;
      for (const CLI::Option* o : app.get_options())
        for (const auto& l : o->get_lnames()) names.push_back("--" + l);
      std::string s = suggest(bad, names);
      if (!s.empty()) hint = "did you mean '" + s + "'?";
    }
    std::fprintf(stderr, "error: %s: %s (hint: %s)\n", app.get_name().c_str(), what.c_str(), hint.c_str());
    return kExitBadInput;
  }
}

}  // namespace scintigen::cli
