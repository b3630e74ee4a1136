// `scintigen reader create | serve | report` (docs/READER.md).

#include <fmt/format.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli_util.h"
#include "commands.h"
#include "console.h"
#include "core/fs_util.h"
#include "core/text.h"
#include "reader/report.h"
#include "reader/server.h"
#include "reader/store.h"
#include "reader/study.h"
#include "report/html.h"
#include "report/reader_html.h"
#include "run_guard.h"

namespace scintigen::cli {
namespace {

int cmd_create(int argc, char** argv) {
  CLI::App app(
      "Create a blinded reader study (docs/READER.md): N cases, half real and half synthetic, matched on the\n"
      "--match labels so that a finding does not give the origin away; every reader reads every case in an\n"
      "order of their own. Images are rendered here, from pixels alone. Prints one token per reader and one for\n"
      "the coordinator, ONCE; they are also in STUDY/tokens.txt (readable by you only); the study keeps only\n"
      "their SHA-256. Exit status: 0 done, 2 bad input.\n",
      "scintigen reader create");
  reader::CreateConfig c;
  std::string readers, match, grid;
  app.add_option("--real", c.real, "dataset of real (or simulator) scans")->required();
  app.add_option("--synthetic", c.synthetic, "dataset of synthetic scans")->required();
  app.add_option("--n", c.n, "cases (even): n/2 real, n/2 synthetic")->capture_default_str();
  app.add_option("--readers", readers, "reader names, comma-separated, e.g. \"a,b,c,d\"")->required();
  app.add_option("--task", c.task, "realness | diagnosis | both")->capture_default_str();
  app.add_option("--match", match, "labels a real case and its synthetic partner share (comma-separated; \"\" = none)")
      ->default_str("metastasis,cardiac_grade,tracer");
  app.add_option("--margin", c.margin, "equivalence margin of accuracy around 0.5 (two one-sided tests), fixed now")
      ->capture_default_str();
  app.add_option("--grid", grid, "display grid WIDTHxHEIGHT (default: the real scans' own grid)");
  app.add_option("--seed", c.seed, "seed of the case choice and the reading orders")->capture_default_str();
  app.add_option("--out,-o", c.out, "study folder to create (must not exist, or be empty)")->required();
  bool quiet = false;
  app.add_flag("--quiet,-q", quiet, "no progress bar");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  c.readers = split(readers, ',');
  if (app.count("--match")) c.match = split(match, ',');
  if (!grid.empty()) std::tie(c.width, c.height) = parse_size(grid, "--grid");
  Console console(quiet);
  const reader::CreateResult r = reader::create_study(c, &console);
  std::printf("study %s: %zu cases (%zu real, %zu synthetic), %zu readers, task %s\n", r.out.c_str(), r.n, r.n / 2,
              r.n / 2, c.readers.size(), c.task.c_str());
  for (const auto& s : r.balance)
    if (s["chosen"].get<size_t>() > 0)
      std::printf("  %-50s %3zu pairs (of %zu real, %zu synthetic)\n", s["key"].get<std::string>().c_str(),
                  s["chosen"].get<size_t>(), s["real_available"].get<size_t>(), s["synthetic_available"].get<size_t>());
  std::printf("tokens (shown once; also in %s, mode 0600):\n", r.tokens_file.c_str());
  for (const auto& t : r.tokens) std::printf("  %-12s %-11s %s\n", t.reader.c_str(), t.role.c_str(), t.token.c_str());
  return kExitOk;
}

int cmd_serve(int argc, char** argv) {
  CLI::App app(
      "Serve a reader study (docs/READER.md): readers open the URL, sign in with their token and read; the\n"
      "coordinator follows progress at /coordinator. Binds to 127.0.0.1 unless --host says otherwise; HTTPS with\n"
      "--tls-cert and --tls-key. Every answer is on disk before it is acknowledged. Stops on Ctrl-C or SIGTERM.\n"
      "The first line on stdout is \"serving STUDY at URL\". Exit status: 0 stopped, 2 bad input.\n",
      "scintigen reader serve");
  reader::ServeConfig c;
  app.add_option("study", c.study, "study folder (reader create)")->required();
  app.add_option("--host", c.host, "address to bind (0.0.0.0: every interface)")->capture_default_str();
  app.add_option("--port", c.port, "port (0 = any free port)")->capture_default_str();
  app.add_option("--tls-cert", c.tls_cert, "PEM certificate: serve HTTPS");
  app.add_option("--tls-key", c.tls_key, "PEM private key of --tls-cert");
  app.add_option("--threads", c.threads, "worker threads (each open browser connection holds one)")
      ->capture_default_str();
  app.add_option("--max-body", c.max_body, "largest request body accepted (bytes)")->capture_default_str();
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;

  // SIGINT and SIGTERM set a flag (a handler, process-wide: threads that libraries started
  // before this point would ignore a per-thread signal mask); a watcher thread stops the server.
  static std::atomic<bool> signalled{false};
  struct sigaction action {};
  action.sa_handler = [](int) { signalled = true; };
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  Console console(true);
  reader::Server server(c, &console);
  std::printf("serving %s at %s\n", c.study.c_str(), server.url().c_str());
  std::fflush(stdout);
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done && !signalled) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    server.stop();
  });
  server.run();
  done = true;
  watcher.join();
  std::printf("stopped\n");
  return kExitOk;
}

int cmd_report(int argc, char** argv) {
  CLI::App app(
      "Analyse a reader study (docs/READER.md \"The report\"): per reader and pooled, accuracy in telling real from\n"
      "synthetic (Wilson CI), sensitivity and specificity for \"synthetic\", the AUC of the confidence ratings\n"
      "(DeLong), the equivalence test against 50% with the margin fixed at create, Fleiss' and Cohen's kappa, the\n"
      "pooled numbers' variance with readers and cases random (components of variance from reader, case and\n"
      "two-way bootstraps) and, with a diagnosis task, the readers' agreement with the\n"
      "labels on real vs synthetic cases. Writes OUT/report.json, OUT/report.html and OUT/answers.csv (read by\n"
      "`scintigen stats agreement`). Exit status: 0 done, 1 the HTML page failed, 2 bad input.\n",
      "scintigen reader report");
  reader::ReportConfig c;
  app.add_option("study", c.study, "study folder")->required();
  app.add_option("--out,-o", c.out, "report folder to create (must not exist, or be empty)")->required();
  app.add_option("--bootstrap", c.bootstrap, "replicates of each bootstrap (readers, cases, both)")
      ->capture_default_str();
  app.add_option("--seed", c.seed, "seed of the bootstrap")->capture_default_str();
  app.add_option("--conf-level", c.conf_level, "confidence level of every interval")->capture_default_str();
  std::string export_csv;
  app.add_option(
      "--export", export_csv,
      "also write the calls of the cases every reader answered to this CSV (case,truth,<reader>...), the form "
      "`scintigen stats agreement --ratings FILE --id-col case --truth truth` reads");
  bool json_out = false, quiet = false;
  app.add_flag("--json", json_out, "print report.json on stdout");
  app.add_flag("--quiet,-q", quiet, "no progress bar");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  Console console(quiet);
  const nlohmann::json r = reader::run_report(c, &console);
  if (!export_csv.empty())
    write_file_atomic(export_csv, reader::answers_csv(reader::StudyStore::open(c.study).snapshot(), true));
  int rc = kExitOk;
  const std::string html = (std::filesystem::path(c.out) / "report.html").string();
  try {
    report::write_reader_report_html(html, r, report::load_web_assets());
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.describe().c_str());
    rc = kExitPartial;
  }
  if (json_out) {
    std::printf("%s\n", r.dump(2).c_str());
    return rc;
  }
  std::printf("report: %s\n", (std::filesystem::path(c.out) / "report.json").string().c_str());
  if (rc == kExitOk) std::printf("page: %s\n", html.c_str());
  return rc;
}

}  // namespace

int cmd_reader(int argc, char** argv) {
  return dispatch(
      "scintigen reader", "Blinded reader study in the browser (docs/READER.md).",
      {{"create", "pick the cases, render them, make the study folder and the tokens", cmd_create},
       {"serve", "serve the reading pages and their API (HTTP or HTTPS)", cmd_serve},
       {"report", "analyse the answers: accuracy, AUC, equivalence, kappa, reader x case variance", cmd_report}},
      argc, argv);
}

}  // namespace scintigen::cli
