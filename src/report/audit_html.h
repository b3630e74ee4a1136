// The readable page of `scintigen audit` (docs/AUDIT.md): one self-contained HTML file made from
// OUT/audit.json, for the physician or imaging-AI researcher deciding whether a synthetic set is
// fit to share. No LibTorch.
//
//   const nlohmann::json audit = nlohmann::json::parse(read_file("audit/audit.json"));
//   write_audit_report_html("audit/audit.html", audit, load_web_assets(), "audit/closest_pairs.png");
//
// The page, in order: a summary box with every section's verdict (PASS / FAIL, its text and the
// rule it applied, exactly as audit.json states them, or the reason a section was skipped); the
// inputs (datasets with scan counts and grids, the encoder and its SHA-256, the generator);
// fidelity (overall / real-vs-real baseline / matched: FD, KD, precision, recall, density,
// coverage with their CIs; per condition; a dot plot with CI bars); image statistics (per
// statistic real vs synthetic, KS, W1/sd beside the baseline's; the mean count histograms on a
// log axis); the classifier two-sample test (AUC, ROC curve); label fidelity (per label real CV,
// synthetic and train-synthetic-test-real AUCs, DeLong difference); memorisation (thresholds,
// flagged counts, the held-out calibration check, per space the nearest-training distances of
// synthetic vs held-out real scans with the threshold, the closest pairs and their sheet);
// membership (both attacks' AUCs and ROC curves). Every feature-space section names the
// encoder's SHA-256. Numbers that audit.json holds as null show "n/a".
//
// Memorisation histograms: kDistanceBins bins, equal in log10(distance), from the smallest to the
// largest positive distance of both sets (and the threshold); each set as fractions of its own
// scans, so sets of different sizes compare; distances of 0 (exact copies) are counted in the
// first bin and named under the plot.
//
// The sheet: the PNG's bytes in base64 inside a data: URI, so the page stays one file.
//   Ref: S. Josefsson, "The Base16, Base32, and Base64 Data Encodings", RFC 4648, 2006 (section 4).
//   Ref: L. Masinter, "The "data" URL scheme", RFC 2397, 1998.
//
// Plots are Vega-Lite specifications drawn by the inlined libraries (report/html.h); plot
// problems are listed on the page (#plot-problems). User-supplied text (paths, ids) is escaped.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "report/html.h"

namespace scintigen::report {

inline constexpr int kDistanceBins = 30;

// The HTML of an audit report. `sheet_png`: the closest-pair sheet (a PNG file) embedded as a
// data: URI; "" or a path that is not a file = no sheet. Throws InputError("audit report", ...)
// when `audit` is not a scintigen audit report or lacks a field the page shows.
std::string audit_report_html(const nlohmann::json& audit, const WebAssets& assets, const std::string& sheet_png = "");

// The Vega-Lite specifications the page embeds, in page order: [{"id", "spec"}, ...].
nlohmann::json audit_report_charts(const nlohmann::json& audit);

// audit_report_html written atomically (core/fs_util.h).
void write_audit_report_html(const std::string& path, const nlohmann::json& audit, const WebAssets& assets,
                             const std::string& sheet_png = "");

}  // namespace scintigen::report
