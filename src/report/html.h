// Readable HTML summaries of scintigen's JSON reports: one self-contained file (tables, and
// plots drawn by Vega-Lite, whose JavaScript is inlined so the file opens offline and can be
// mailed around). No LibTorch.
//
//   WebAssets assets = load_web_assets();                  // web/node_modules/vega*/build/*.min.js
//   write_classify_report_html("ext_a.html", report, assets);  // report: `classify eval` JSON
//
// The page renders its plots as SVG with vega-embed. Vega or Vega-Lite warnings and errors,
// and script errors, are listed on the page (#plot-problems), so a broken plot shows.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace scintigen::report {

// One inlined JavaScript bundle.
struct WebScript {
  std::string package;  // npm package, e.g. "vega"
  std::string version;  // from its package.json
  std::string js;       // the minified build
};

// The plotting libraries, in load order: vega, vega-lite, vega-embed.
struct WebAssets {
  std::vector<WebScript> scripts;
};

// Where the assets live (core/resources.h: $SCINTIGEN_WEB_DIR, the installed
// share/scintigen/web, or the source tree's web/).
std::string web_dir();

// Reads <dir>/node_modules/<package>/build/<package>.min.js and its package.json for each
// library. Throws ConfigError naming a missing file (hint: run scripts/install-deps.sh), and
// InputError when a bundle cannot be inlined in a <script> element (holds "</script" or "<!--").
WebAssets load_web_assets(const std::string& dir = web_dir());

// The HTML of a `classify eval` report (docs/CLASSIFY.md "Evaluation report"): title, task,
// models, threshold, creation time and versions; per dataset a table (overall and per site: n,
// positives, AUC with CI, sensitivity / specificity / PPV / NPV at the validation threshold with
// CIs, Brier score, the paired DeLong comparison with --compare) and plots: ROC curves per site
// (from cases[], stats::roc_curve; the compared model dashed), calibration, and Kaplan-Meier by
// predicted group with CI bands when the dataset has outcomes. A statistic reported as
// {"error": ...} shows its message. Throws InputError when the report lacks a required field.
std::string classify_report_html(const nlohmann::json& report, const WebAssets& assets);

// The Vega-Lite specifications the page embeds, in page order: [{"id", "spec"}, ...].
nlohmann::json classify_report_charts(const nlohmann::json& report);

// classify_report_html written atomically (core/fs_util.h).
void write_classify_report_html(const std::string& path, const nlohmann::json& report, const WebAssets& assets);

// Text as HTML character data or attribute value: & < > " ' escaped.
std::string html_escape(std::string_view text);

// JSON for a <script> element: every '<' written as \u003c (JSON has '<' only inside strings),
// so neither "</script" nor "<!--" can end or change the element. Invalid UTF-8 is replaced.
std::string json_for_script(const nlohmann::json& value);

}  // namespace scintigen::report
