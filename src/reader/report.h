// `scintigen reader report`: what the readers' answers say (docs/READER.md "The report").
//
//   ReportConfig c;  c.study = "study";  c.out = "study-report";
//   nlohmann::json r = run_report(c, &sink);   // writes <out>/report.json (+ answers.csv)
//   // the app writes <out>/report.html through report/reader_html.h
//
// Realness (task realness or both), per reader and pooled over readers: accuracy of the call
// (real / synthetic) with its Wilson CI; sensitivity (synthetic cases called synthetic) and
// specificity (real cases called real) with Wilson CIs; the AUC of the 10-point rating
// (call x confidence: 1 = certain real .. 10 = certain synthetic) for "synthetic" with its DeLong
// CI; the equivalence test of accuracy against 0.5 with the margin fixed at create (two
// one-sided tests); Fleiss' kappa of the calls across readers, Cohen's kappa per pair (src/stats);
// a reader x case analysis of the pooled statistics (components of variance from readers-only,
// cases-only and two-way bootstraps, Beiden-Wagner-Campbell 2000), so the pooled CI counts reader
// and case variability once each.
// Diagnosis (task diagnosis or both): per origin, the readers' agreement with the labels
// (metastasis: accuracy, sensitivity, specificity, Cohen's kappa; Perugini grade: accuracy,
// quadratic-weighted kappa), and the difference real - synthetic with a bootstrap CI (does a
// physician see the finding the generator was asked for?).
// Only answered cases count; a reader's unanswered cases are reported as missing.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/progress.h"
#include "reader/store.h"

namespace scintigen::reader {

inline constexpr const char* kReportFormat = "scintigen-reader-report";
inline constexpr int kReportFormatVersion = 1;

struct ReportConfig {
  std::string study;       // study folder
  std::string out;         // report folder to create (must not exist, or be empty)
  bool export_csv = true;  // also <out>/answers.csv (`scintigen stats agreement` reads it)
  int bootstrap = 2000;    // replicates of the reader x case bootstrap
  uint64_t seed = 1;
  double conf_level = 0.95;
  void validate() const;
  nlohmann::json to_json() const;
};

// The report JSON (schema in docs/READER.md) from a study's data; pure, no files.
nlohmann::json analyse_study(const StudyData& data, const ReportConfig& config);

// Wide CSV of the realness calls: case,truth,<reader>...; truth and calls are "real" |
// "synthetic", "" where a reader did not answer. With `complete_only`, only the cases every
// reader answered: the form `scintigen stats agreement --ratings F --id-col case --truth truth` reads (it
// refuses empty cells).
std::string answers_csv(const StudyData& data, bool complete_only = false);

// Opens the study, analyses it, writes <out>/report.json (and answers.csv); returns the JSON.
nlohmann::json run_report(const ReportConfig& config, EventSink* sink = nullptr);

}  // namespace scintigen::reader
