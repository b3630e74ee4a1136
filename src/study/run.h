// `scintigen study`: runs a study config (study/config.h) end to end into one folder.
//
//   StudyConfig c = StudyConfig::load("configs/study/quick.json");
//   RunOptions o;  o.out = "out/quick";
//   StudyResult r = run_study(c, o, &sink);   // OUT/report.json; r.report
//
// The plan (docs/STUDY.md, "Stages"): cohorts (simulated, or datasets), the generator, the
// synthetic sets, the audit's encoder and one audit per synthetic set, the extra scans each arm
// takes, one classifier per task x arm x small-centre draw x seed, and its evaluation on the
// external sites and the draw's internal test scans. Each stage lives in
// OUT/stages/<kind>-<hash>/, the hash being SHA-256 of its kind, its settings and its inputs'
// hashes; OUT/stages/<...>/stage.json, written last, marks it complete. A rerun with --resume
// takes every complete stage as it is, continues an interrupted one where its library can
// (generator and classifier training from their checkpoints, generation from its committed
// scans) and redoes the others; a changed setting changes the hashes of exactly the stages that
// depend on it. The analysis (study/analysis.h) then runs on the evaluations and writes
// OUT/report.json. OUT/study.json holds the config as run, OUT/stages.json the plan.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "study/config.h"

namespace scintigen::study {

struct RunOptions {
  std::string out;
  bool resume = false;  // continue in OUT (else OUT must be absent or empty)
  int threads = 0;      // intra-op threads of every stage (0 = all cores); not part of any hash
  std::string device = "cpu";
  bool verbose = false;     // forward the stages' own progress and news to the sink
  int stop_after = 0;       // stop after this many stages have run in this call (tests; 0 = no)
  std::string config_path;  // where the config came from (recorded)
};

struct StageInfo {
  std::string kind, label, hash, dir;
  double estimated_s = 0;
};

struct StudyResult {
  std::vector<StageInfo> plan;
  size_t stages_run = 0, stages_cached = 0;
  bool complete = false;  // false when stopped by stop_after
  double seconds = 0;
  nlohmann::json report;  // OUT/report.json (empty when not complete)
};

// The plan of a config, without running anything (`scintigen study --plan`).
std::vector<StageInfo> plan_study(const StudyConfig& config, const RunOptions& options);

// Runs (or resumes) the study. Throws InputError / ConfigError naming the config, the stage or
// the file when a stage fails; the stages completed before it stay in OUT for --resume.
StudyResult run_study(const StudyConfig& config, const RunOptions& options, EventSink* events = nullptr);

}  // namespace scintigen::study
