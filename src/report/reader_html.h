// The readable page of `scintigen reader report` (docs/READER.md "The report"): one
// self-contained HTML file made from OUT/report.json. No LibTorch.
//
//   const nlohmann::json r = nlohmann::json::parse(read_file("study-report/report.json"));
//   write_reader_report_html("study-report/report.html", r, load_web_assets());
//
// The page, in order: the study (task, cases, readers, margin); realness (the pooled accuracy
// with its reader x case bootstrap CI and the equivalence verdict as report.json states it; per
// reader accuracy, sensitivity, specificity, AUC, exact TOST; Fleiss' and Cohen's kappas; a plot
// of every reader's accuracy with its CI against 0.5 and the equivalence band, and one of the
// readers' ROC curves of the 10-point rating); diagnosis (per reader and origin the metastasis
// and grade agreement with the labels; pooled real, synthetic and real - synthetic with case
// bootstrap CIs); the missing answers. Numbers report.json holds as null show "n/a"; a statistic
// reported as {"error": ...} shows its message. User-supplied text (names, ids, paths) is escaped.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "report/html.h"

namespace scintigen::report {

// The HTML of a reader report. Throws InputError("reader report", ...) when `report` is not a
// scintigen reader report or lacks a field the page shows.
std::string reader_report_html(const nlohmann::json& report, const WebAssets& assets);

// The Vega-Lite specifications the page embeds, in page order: [{"id", "spec"}, ...].
nlohmann::json reader_report_charts(const nlohmann::json& report);

// reader_report_html written atomically (core/fs_util.h).
void write_reader_report_html(const std::string& path, const nlohmann::json& report, const WebAssets& assets);

}  // namespace scintigen::report
