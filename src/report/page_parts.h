// Internal to src/report: the parts every HTML page of the module shares (classify eval's page,
// html.cc, and the audit's, audit_html.cc): the page's head and style, the number and CI
// formatting, the Vega-Lite helpers, the versions footer and the scripts that inline the plotting
// libraries and embed the charts. Not a public header: apps use report/html.h and
// report/audit_html.h.
//
//   std::string h = page::head("scintigen audit: syn");           // <!DOCTYPE html> ... <body>
//   page::Chart c{"chart-x", spec, {}};  h += page::figure(c);    // the chart's <figure>
//   h += page::footer(report["versions"], assets, "scintigen audit", "docs/AUDIT.md");
//   h += page::scripts(charts, assets);                           // ... </html>
//
// The page renders its plots as SVG with vega-embed; Vega or Vega-Lite warnings and errors and
// script errors are listed in #plot-problems (the page must hold <ul id="plot-problems" hidden>),
// and data-plots="done" on <body> marks the end of rendering (tests/report/*browser_test.cc).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "report/html.h"

namespace scintigen::report::page {

inline constexpr const char* kVegaLiteSchema = "https://vega.github.io/schema/vega-lite/v5.json";

// The style of the verdict summary box, pass/fail marks and code spans that the audit's and the
// reader study's pages share (each adds its own after it).
inline constexpr const char* kSummaryStyle = R"(
.summary { border: 1px solid #bbb; background: #fafafa; padding: 2px 16px 8px; margin: 16px 0; }
.summary h2 { margin-top: 8px; border: none; }
.pass { color: #176a2c; font-weight: 700; } .fail { color: #a33; font-weight: 700; }
code { font-size: 12px; overflow-wrap: anywhere; }
)";

// ---- values -----------------------------------------------------------------------------------

// A statistic reported as {"error": message}.
bool is_error(const nlohmann::json& j);
// Its message as <span class="err">, escaped.
std::string error_html(const nlohmann::json& j);

// A number with `digits` decimals; "–" when not defined (not finite, unset, null).
std::string num(double v, int digits = 3);
std::string num(const std::optional<double>& v);
std::string num(const nlohmann::json& v, int digits = 3);

// A p-value as "0.012", "< 0.001" or "–" (plain text).
std::string p_text(double p);

// The CI of an estimate, "[0.781, 0.903]", on a line of its own.
std::string ci_html(const std::string& lower, const std::string& upper);

// ---- charts -----------------------------------------------------------------------------------

struct Chart {
  std::string id;
  nlohmann::json spec;             // Vega-Lite
  std::vector<std::string> notes;  // shown under the plot (HTML)
};

// A quantitative axis on `field`, with the domain [0, 1] when `unit_domain`.
nlohmann::json axis(const char* field, const char* title, bool unit_domain = true);
// The dashed diagonal from (0, 0) to (1, 1) on the given axes.
nlohmann::json diagonal_layer(const nlohmann::json& x, const nlohmann::json& y);
// A tooltip entry; `format` (d3-format) and `title` when not empty.
nlohmann::json tip(const char* field, const char* type, const char* format = "", const char* title = "");
// Legends under the plot, one entry a line, drawn as line segments when `line_symbols`.
nlohmann::json legend_bottom(bool line_symbols = false);

// A chart id from a name found in a report: `base` then the name with every character outside
// [a-z0-9] as '-', lower-cased; "-2", "-3"... when `used` already holds it (then added to it).
std::string chart_id(const std::string& base, const std::string& name, std::set<std::string>& used);

// <figure> with the chart's <div id> and its notes.
std::string figure(const Chart& c);

// ---- the page ---------------------------------------------------------------------------------

// From <!DOCTYPE html> to <body>: the title (escaped here) and the shared style, then
// `extra_style` (CSS).
std::string head(const std::string& title, const std::string& extra_style = "");

// <footer>: the versions ({"torch": {"libtorch": "2.1"}} as "torch.libtorch 2.1") and the
// inlined libraries', and "Report written by <code>command</code>; plots by Vega-Lite. Numbers:
// doc.".
std::string footer(const nlohmann::json& versions, const WebAssets& assets, const std::string& command,
                   const std::string& doc);

// From the charts' JSON element to </html>: the charts ([{"id", "spec"}]), the console capture,
// the libraries and the embedding script.
std::string scripts(const nlohmann::json& charts, const WebAssets& assets);

// Runs `f`; a missing or mistyped report field (nlohmann's exceptions) becomes
// InputError(where, problem + ": " + what, hint).
template <typename F>
auto reading_json(const char* where, const char* problem, const char* hint, F&& f) {
  try {
    return f();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where, std::string(problem) + ": " + e.what(), hint);
  }
}

}  // namespace scintigen::report::page
