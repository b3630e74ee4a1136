// The readable page of `scintigen study` (docs/STUDY.md): one self-contained HTML file made from
// OUT/report.json, for the reader who wants to know whether synthetic scans helped the small
// centre, and how sure the study is. No LibTorch.
//
//   const nlohmann::json report = nlohmann::json::parse(read_file("out/quick/report.json"));
//   write_study_report_html("out/quick/report.html", report, load_web_assets());
//
// The page, in order: the study's name and description and a summary box with the primary
// endpoint (task, arm, pooled gain with its CI, met or not, alpha; fixed in the config before the
// run) and the design warnings; the design (arms, repeats, classifier recipe, generator and
// synthetic sets, the cohorts from summarize_dataset, the external sites with their flags); per
// task a forest plot of the gains (per site: the DeLong contrast's CI; pooled: the hierarchical
// bootstrap's), a table of the arms (pooled AUC, gain, relative gain, share of the real-data gain
// recovered, per-site gains with Holm-adjusted p-values), the pooled gain against the synthetic
// multiple (one line per synthetic set, arms with the small centre only) and the internal-test
// AUCs; survival (per arm the mean hazard ratio of the predicted-positive group adjusted for age
// and sex, and Harrell's C, beside the true label's hazard ratio; Kaplan-Meier curves of the
// first repeat's predicted groups, an arm chosen in a menu); subgroups (AUC per subgroup and
// arm, the gain with its contrast CI); the audit of each synthetic set; provenance (the config,
// every stage with its hash and time, the versions, and the command that reproduces the study).
//
// Every statistic that report.json holds as {"error": ...} shows its message as text, never a
// number. Plots are Vega-Lite specifications drawn by the inlined libraries (report/html.h) as
// SVG; plot problems are listed on the page (#plot-problems). Text from the report is escaped.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "report/html.h"

namespace scintigen::report {

// The HTML of a study report. Throws InputError("study report", ...) when `report` is not a
// scintigen study report or lacks a field the page shows.
std::string study_report_html(const nlohmann::json& report, const WebAssets& assets);

// The Vega-Lite specifications the page embeds, in page order: [{"id", "spec"}, ...].
nlohmann::json study_report_charts(const nlohmann::json& report);

// study_report_html written atomically (core/fs_util.h).
void write_study_report_html(const std::string& path, const nlohmann::json& report, const WebAssets& assets);

}  // namespace scintigen::report
