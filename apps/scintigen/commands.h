// The subcommand table of the `scintigen` binary. Each subcommand lives in its own file and
// parses its flags with CLI11 into a config struct, then calls the library.
#pragma once

#include <string>
#include <vector>

namespace scintigen::cli {

// argv[0] is the subcommand's own name ("ingest"); returns the process exit code.
using CommandFn = int (*)(int argc, char** argv);

struct Command {
  const char* name;
  const char* summary;
  CommandFn fn;
};

// Dispatches argv[1] through `table`; prints help for -h/--help or no argument, and a
// "did you mean" suggestion for a near miss. `program` is e.g. "scintigen dataset".
int dispatch(const std::string& program, const std::string& summary, const std::vector<Command>& table, int argc,
             char** argv);

// The closest name in `names` to `typo` within a small edit distance, or "".
std::string suggest(const std::string& typo, const std::vector<std::string>& names);

int cmd_ingest(int argc, char** argv);
int cmd_simulate(int argc, char** argv);
int cmd_stats(int argc, char** argv);
int cmd_classify(int argc, char** argv);
int cmd_audit(int argc, char** argv);
int cmd_train_model(int argc, char** argv);
int cmd_generate(int argc, char** argv);
int cmd_model(int argc, char** argv);
int cmd_autoencoder(int argc, char** argv);
int cmd_dataset(int argc, char** argv);
int cmd_reader(int argc, char** argv);
int cmd_study(int argc, char** argv);
int cmd_demo(int argc, char** argv);
int cmd_version(int argc, char** argv);

}  // namespace scintigen::cli
