#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli_util.h"
#include "commands.h"
#include "console.h"
#include "core/error.h"
#include "core/progress.h"
#include "report/html.h"
#include "report/study_html.h"
#include "run_guard.h"
#include "study/config.h"
#include "study/run.h"

namespace scintigen::cli {

int cmd_study(int argc, char** argv) {
  CLI::App app(
      "Run a whole synthetic-data study from one config (docs/STUDY.md): simulate or read the cohorts (a donor "
      "centre,\n"
      "a small centre in several draws, external sites), train the generator on the donor's scans, generate the\n"
      "synthetic sets, audit them, train one classifier per task x arm x draw x seed with the same validation scans\n"
      "and step budget, evaluate each on the external sites and the draw's internal test scans, and analyse: AUC "
      "gains\n"
      "per site and pooled with a hierarchical bootstrap (site, case, repeat), paired DeLong tests, Holm's "
      "correction,\n"
      "the share of the real-data gain recovered, survival by prediction and subgroups.\n"
      "Every stage is cached in OUT/stages/ under a hash of its settings and inputs: --resume continues an\n"
      "interrupted study exactly, and reruns only the stages a changed setting touches.\n"
      "Configs: configs/study/quick.json (minutes), configs/study/paper.json (the full design; hours).\n"
      "Writes OUT/report.json and OUT/report.html (one self-contained page: design, forest plots, gain against the\n"
      "synthetic multiple, survival, subgroups, audits, provenance).\n"
      "Exit status: 0 done (or stopped at --stop-after), 1 the study is complete but report.html could not be "
      "written,\n"
      "2 bad config or input, 3 internal error.\n",
      "scintigen study");
  std::string config_path;
  study::RunOptions o;
  bool plan_only = false, quiet = false;
  app.add_option("--config,-c", config_path, "study config JSON (configs/study/)")->required();
  app.add_option("--out,-o", o.out, "study folder to create (or continue with --resume)");
  app.add_flag("--resume", o.resume, "continue the study in --out: complete stages are kept, changed ones rerun");
  app.add_flag("--plan", plan_only, "print the stages (kind, hash, label, estimated time) and exit");
  app.add_option("--threads", o.threads, "intra-op threads per stage (0 = all cores); not part of any result")
      ->capture_default_str();
  app.add_option("--device", o.device, "cpu | cuda | cuda:N | auto, for training and generation")
      ->capture_default_str();
  app.add_option("--stop-after", o.stop_after, "stop after this many stages have run (tests --resume; 0 = no)")
      ->capture_default_str();
  app.add_flag("--verbose,-v", o.verbose, "show every stage's own progress and epoch lines");
  app.add_flag("--quiet,-q", quiet, "no progress line or stage lines");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  return run_guarded([&] {
    const study::StudyConfig config = study::StudyConfig::load(config_path);
    o.config_path = config_path;
    if (plan_only) {
      double total = 0;
      study::RunOptions po = o;
      if (po.out.empty()) po.out = ".";
      const auto plan = study::plan_study(config, po);
      for (const auto& s : plan) {
        std::printf("%-10s %s  %8s  %s\n", s.kind.c_str(), s.hash.c_str(), format_duration(s.estimated_s).c_str(),
                    s.label.c_str());
        total += s.estimated_s;
      }
      std::printf("%zu stages, estimated %s on 2 cores\n", plan.size(), format_duration(total).c_str());
      return kExitOk;
    }
    if (o.out.empty()) throw ConfigError("--out", "is required (unless --plan)");
    Console console(quiet);
    const study::StudyResult r = study::run_study(config, o, &console);
    if (!r.complete) {
      std::printf("study %s: stopped after %zu stages (%zu were complete before); continue with --resume\n",
                  config.name.c_str(), r.stages_run, r.stages_cached);
      return kExitOk;
    }
    // The page is written from report.json; a failure here (e.g. no web/node_modules) loses no
    // result: the study stays complete and the JSON is on disk.
    int rc = kExitOk;
    try {
      report::write_study_report_html(o.out + "/report.html", r.report, report::load_web_assets());
    } catch (const Error& e) {
      std::fprintf(stderr, "error: %s\n", e.describe().c_str());
      rc = kExitPartial;
    }
    std::printf("study %s: %zu stages run, %zu reused, %s; report %s/report.json%s\n", config.name.c_str(),
                r.stages_run, r.stages_cached, format_duration(r.seconds).c_str(), o.out.c_str(),
                rc == kExitOk ? " and report.html" : "");
    const auto& p = r.report["primary_endpoint"];
    if (p.contains("pooled_gain") && p["pooled_gain"].is_object() && p["pooled_gain"].contains("ci"))
      std::printf("primary endpoint (%s, %s): pooled gain %+.3f [%.3f, %.3f]: %s\n",
                  p["task"].get<std::string>().c_str(), p["arm"].get<std::string>().c_str(),
                  p["pooled_gain"]["estimate"].get<double>(), p["pooled_gain"]["ci"]["lower"].get<double>(),
                  p["pooled_gain"]["ci"]["upper"].get<double>(), p.value("met", false) ? "met" : "not met");
    return kExitOk;
  });
}

}  // namespace scintigen::cli
