#include "report/audit_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <set>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/fs_util.h"
#include "report/page_parts.h"
#include "stats/json.h"

namespace scintigen::report {

using nlohmann::json;

namespace {

using page::axis;
using page::Chart;
using page::chart_id;
using page::ci_html;
using page::error_html;
using page::is_error;
using page::legend_bottom;
using page::tip;

const char* const kWhere = "audit report";
const char* const kHint = "pass OUT/audit.json as written by scintigen audit";

const char* const kAuditStyle = R"(
.skipped { color: #666; font-style: italic; } .rule { color: #555; font-size: 12px; }
tr.differ th { color: #a33; }
img.sheet { max-width: 100%; border: 1px solid #ccc; }
)";

// The sections, in report order (audit::audit_sections()), with their headings.
const std::pair<const char*, const char*> kSections[] = {
    {"fidelity", "Fidelity and diversity"}, {"image_stats", "Image statistics"},
    {"c2st", "Classifier two-sample test"}, {"label_fidelity", "Label fidelity"},
    {"memorisation", "Memorisation"},       {"membership", "Membership inference"}};

// ---- values ----------------------------------------------------------------------------------

bool finite(const json& v) {
  return v.is_number() && std::isfinite(v.get<double>());
}

// Fixed decimals, or "n/a" for null.
std::string fixed(const json& v, int digits = 3) {
  return finite(v) ? fmt::format("{:.{}f}", v.get<double>(), digits) : "n/a";
}
std::string fixed3(const json& v) {
  return fixed(v, 3);
}
// Four significant digits (distances, counts, whose scale varies), or "n/a".
std::string sig4(const json& v) {
  return finite(v) ? fmt::format("{:.4g}", v.get<double>()) : "n/a";
}
std::string p_html(const json& v) {
  if (!finite(v)) return "n/a";
  const double p = v.get<double>();
  return p < 0.001 ? "&lt; 0.001" : fmt::format("{:.3f}", p);
}
std::string count(const json& v) {
  return v.is_number_integer() ? v.dump() : "n/a";
}
// A string (or other value) as HTML text; null is "n/a".
std::string text(const json& v) {
  if (v.is_null()) return "n/a";
  return html_escape(v.is_string() ? v.get<std::string>() : v.dump());
}

using Format = std::string (*)(const json&);

// {"estimate", "ci"} (the stats scheme) as "estimate" over "[lower, upper]"; a null ci shows
// the estimate alone; {"error"} its message.
std::string estimate_html(const json& m, Format f) {
  if (is_error(m)) return error_html(m);
  std::string h = f(m.at("estimate"));
  const json& ci = m.at("ci");
  if (ci.is_object()) h += ci_html(f(ci.at("lower")), f(ci.at("upper")));
  return h;
}

// A Wilson proportion (stats::to_json(Proportion)): "k of n, 0.012 [0.004, 0.030]".
std::string proportion_html(const json& j) {
  const stats::Proportion p = stats::proportion_from_json(j);
  std::string h = fmt::format("{} of {}, {}", p.successes, p.trials, p.estimate ? fixed(*p.estimate) : "n/a");
  if (p.lower || p.upper)
    h += fmt::format(" [{}, {}]", p.lower ? fixed(*p.lower) : "n/a", p.upper ? fixed(*p.upper) : "n/a");
  return h;
}

std::string conf_text(const json& audit) {
  return fmt::format("{:g}%", 100.0 * audit.at("config").value("conf_level", 0.95));
}

// "Feature space: encoder DIR, SHA-256 HASH." beside a section's feature-space numbers.
std::string encoder_line(const json& section) {
  const json& e = section.at("encoder");
  return fmt::format("<p class=\"muted\">Feature space: encoder <code>{}</code>, SHA-256 <code>{}</code>.</p>\n",
                     text(e.at("dir")), text(e.at("sha256")));
}

// ---- the page's parts --------------------------------------------------------------------------

struct Body {
  std::string html;
  std::vector<Chart> charts;
  std::set<std::string> ids;

  void add(Chart c) {
    html += page::figure(c);
    charts.push_back(std::move(c));
  }
};

json roc_layers(const std::vector<std::pair<std::string, const json*>>& curves) {
  const json x = axis("fpr", "false positive rate"), y = axis("tpr", "true positive rate");
  json rows = json::array();
  for (const auto& [label, points] : curves) {
    size_t i = 0;
    for (const auto& p : *points)
      rows.push_back({{"curve", label}, {"i", i++}, {"fpr", p.at("fpr")}, {"tpr", p.at("tpr")}});
  }
  json layers = json::array({page::diagonal_layer(x, y)});
  layers.push_back({{"data", {{"values", rows}}},
                    {"mark", {{"type", "line"}, {"strokeWidth", 2}}},
                    {"encoding",
                     {{"x", x},
                      {"y", y},
                      {"color", {{"field", "curve"}, {"type", "nominal"}, {"legend", legend_bottom(true)}}},
                      {"order", {{"field", "i"}, {"type", "quantitative"}}},
                      {"tooltip", json::array({tip("curve", "nominal"), tip("fpr", "quantitative", ".3f"),
                                               tip("tpr", "quantitative", ".3f")})}}}});
  return layers;
}

std::string verdict_cells(const json& v) {
  const bool pass = v.at("pass").get<bool>();
  return fmt::format("<td class=\"{}\">{}</td><td>{}<br><span class=\"rule\">Rule: {}</span></td>",
                     pass ? "pass" : "fail", pass ? "PASS" : "FAIL", text(v.at("text")), text(v.at("rule")));
}

std::string summary_html(const json& audit) {
  std::string h = "<section class=\"summary\">\n<h2>Verdicts</h2>\n<table class=\"verdicts\">\n";
  const json& sections = audit.at("sections");
  for (const auto& [key, title] : kSections) {
    const json& s = sections.at(key);
    h += fmt::format("<tr><th><a href=\"#{}\">{}</a></th>", key, title);
    if (s.contains("skipped"))
      h += fmt::format("<td class=\"skipped\">skipped</td><td>{}</td>", text(s.at("skipped")));
    else
      h += verdict_cells(s.at("verdict"));
    h += "</tr>\n";
  }
  h += "</table>\n<p class=\"muted\">Each verdict applies the rule beside it, fixed in scintigen before any result "
       "(docs/AUDIT.md). In brackets: " +
       conf_text(audit) +
       " confidence intervals (percentile bootstrap for the feature-space and image metrics, DeLong for AUCs, "
       "Wilson for proportions).</p>\n</section>\n";
  return h;
}

std::string dataset_row(const char* role, const json& d) {
  if (d.is_null()) return fmt::format("<tr><th>{}</th><td class=\"muted\">not given</td></tr>\n", role);
  const json& grid = d.at("grid");
  std::string h =
      fmt::format("<tr><th>{}</th><td><code>{}</code>: {} scans, grid {} &times; {}", role, text(d.at("dataset")),
                  count(d.at("scans")), count(grid.at("width")), count(grid.at("height")));
  if (d.contains("uid") && !d["uid"].is_null()) h += fmt::format(", uid <code>{}</code>", text(d["uid"]));
  return h + "</td></tr>\n";
}

std::string folder_row(const char* role, const json& f) {
  if (f.is_null()) return fmt::format("<tr><th>{}</th><td class=\"muted\">none</td></tr>\n", role);
  return fmt::format("<tr><th>{}</th><td><code>{}</code>, SHA-256 <code>{}</code></td></tr>\n", role, text(f.at("dir")),
                     text(f.at("sha256")));
}

std::string inputs_html(const json& audit) {
  const json& in = audit.at("inputs");
  const json& cfg = audit.at("config");
  std::string h = "<h2 id=\"inputs\">Inputs</h2>\n<table class=\"meta\">\n";
  h += dataset_row("real (held out)", in.at("real"));
  h += dataset_row("synthetic", in.at("synthetic"));
  h += dataset_row("generator training set", in.at("train"));
  h += folder_row("encoder", in.at("encoder"));
  h += folder_row("generator", in.at("model"));
  h += fmt::format("<tr><th>settings</th><td>seed {}, {} bootstrap replicates, {} confidence, {} folds</td></tr>\n",
                   text(cfg.value("seed", json())), text(cfg.value("bootstrap", json())), conf_text(audit),
                   text(cfg.value("folds", json())));
  h += fmt::format("<tr><th>created</th><td>{}</td></tr>\n", text(audit.value("created", json(""))));
  return h + "</table>\n";
}

// ---- fidelity ----------------------------------------------------------------------------------

const char* const kPrdc[] = {"precision", "recall", "density", "coverage"};

std::string fidelity_row(const std::string& label, const json& m) {
  std::string h =
      fmt::format("<tr><th>{}</th><td>{} / {}</td><td>{}</td><td>{}</td>", label, count(m.at("n_real")),
                  count(m.at("n_fake")), estimate_html(m.at("frechet"), sig4), estimate_html(m.at("kernel"), sig4));
  for (const char* k : kPrdc) h += "<td>" + estimate_html(m.at(k), fixed3) + "</td>";
  return h + "</tr>\n";
}

Chart prdc_chart(const json& f) {
  const std::pair<const char*, const char*> comparisons[] = {{"overall", "synthetic vs all real"},
                                                             {"baseline", "real-vs-real baseline (B vs A)"},
                                                             {"matched", "matched (synthetic subsample vs A)"}};
  json rows = json::array(), order = json::array(), metrics = json::array();
  for (const char* k : kPrdc) metrics.push_back(k);
  for (const auto& [key, label] : comparisons) {
    order.push_back(label);
    for (const char* k : kPrdc) {
      const json& m = f.at(key).at(k);
      const json& ci = m.at("ci");
      rows.push_back({{"metric", k},
                      {"comparison", label},
                      {"estimate", m.at("estimate")},
                      {"lower", ci.is_object() ? ci.at("lower") : json()},
                      {"upper", ci.is_object() ? ci.at("upper") : json()}});
    }
  }
  const json x_title = "estimate (bars: CI)";
  json enc = {{"y", {{"field", "metric"}, {"type", "nominal"}, {"sort", metrics}, {"title", nullptr}}},
              {"yOffset", {{"field", "comparison"}, {"type", "nominal"}, {"sort", order}}},
              {"color", {{"field", "comparison"}, {"type", "nominal"}, {"sort", order}, {"legend", legend_bottom()}}}};
  json layers = json::array();
  layers.push_back(
      {{"transform", json::array({{{"filter", "isValid(datum.lower) && isValid(datum.upper)"}}})},
       {"mark", {{"type", "rule"}, {"strokeWidth", 2}}},
       {"encoding",
        {{"x", {{"field", "lower"}, {"type", "quantitative"}, {"title", x_title}}}, {"x2", {{"field", "upper"}}}}}});
  layers.push_back(
      {{"transform", json::array({{{"filter", "isValid(datum.estimate)"}}})},
       {"mark", {{"type", "point"}, {"filled", true}, {"size", 60}}},
       {"encoding",
        {{"x", {{"field", "estimate"}, {"type", "quantitative"}, {"title", x_title}}},
         {"tooltip",
          json::array({tip("metric", "nominal"), tip("comparison", "nominal"), tip("estimate", "quantitative", ".3f"),
                       tip("lower", "quantitative", ".3f"), tip("upper", "quantitative", ".3f")})}}}});
  Chart c{"chart-fidelity-prdc", {}, {}};
  c.spec = {{"$schema", page::kVegaLiteSchema},
            {"title", "Precision, recall, density, coverage"},
            {"width", 360},
            {"height", 200},
            {"data", {{"values", rows}}},
            {"encoding", enc},
            {"layer", layers}};
  c.notes.push_back(
      "Dots: estimates; bars: percentile bootstrap CIs. Matched: half A of the real scans vs as many synthetic scans "
      "as half B holds; baseline: half B vs half A. A faithful set sits with the baseline.");
  return c;
}

void fidelity_html(const json& f, Body& b) {
  const json& n = f.at("sizes");
  b.html += encoder_line(f);
  b.html += fmt::format(
      "<p>{} real and {} synthetic scans. Baseline: the real scans cut by subject into halves A ({}) and B ({}); "
      "matched: half A vs {} synthetic scans drawn at random.</p>\n",
      count(n.at("real")), count(n.at("synthetic")), count(n.at("half_a")), count(n.at("half_b")),
      count(n.at("matched")));
  std::string t = "<table class=\"metrics\">\n<thead><tr><th></th><th>n real / other</th><th>FD</th><th>KD</th>";
  for (const char* k : kPrdc) t += fmt::format("<th>{}</th>", k);
  t += "</tr></thead>\n<tbody>\n";
  t += fidelity_row("synthetic vs all real", f.at("overall"));
  t += fidelity_row("real-vs-real baseline (half B vs A)", f.at("baseline"));
  t += fidelity_row("matched (synthetic subsample vs half A)", f.at("matched"));
  b.html += t + "</tbody></table>\n";

  t = "<h3>Per condition</h3>\n<table class=\"metrics\">\n<thead><tr><th>condition</th><th>n real / synthetic</th>"
      "<th>FD</th>";
  for (const char* k : kPrdc) t += fmt::format("<th>{}</th>", k);
  t += "<th>baseline FD</th></tr></thead>\n<tbody>\n";
  for (const auto& row : f.at("per_condition")) {
    t += fmt::format("<tr><th>{}</th><td>{} / {}</td>", text(row.at("condition")), count(row.at("real")),
                     count(row.at("synthetic")));
    if (is_error(row)) {
      t += "<td colspan=\"6\">" + error_html(row) + "</td></tr>\n";
      continue;
    }
    const json& m = row.at("metrics");
    t += "<td>" + estimate_html(m.at("frechet"), sig4) + "</td>";
    for (const char* k : kPrdc) t += "<td>" + estimate_html(m.at(k), fixed3) + "</td>";
    const json& base = row.at("baseline");
    t += "<td>" + (is_error(base) ? error_html(base) : estimate_html(base.at("frechet"), sig4)) + "</td></tr>\n";
  }
  b.html += t + "</tbody></table>\n";
  b.html +=
      "<p class=\"muted\">FD: Fr&eacute;chet distance; KD: kernel distance (unbiased MMD&sup2;, cubic kernel); "
      "precision/recall k = 3, density/coverage k = 5. Baseline FD: the condition's scans of half B vs half "
      "A.</p>\n<div class=\"charts\">\n";
  b.add(prdc_chart(f));
  b.html += "</div>\n";
}

// ---- image statistics --------------------------------------------------------------------------

std::string mean_sd(const json& s) {
  return fmt::format("{}<br><span class=\"ci\">sd {}</span>", sig4(s.at("mean")), sig4(s.at("sd")));
}

Chart histogram_chart(const json& comparison) {
  const json& edges = comparison.at("histogram_edges");
  json rows = json::array();
  for (const auto& [key, label] : {std::pair<const char*, const char*>{"reference", "real"}, {"other", "synthetic"}}) {
    const json& h = comparison.at(key).at("histogram");
    const std::string name = fmt::format("{} (n {})", label, count(comparison.at(key).at("n")));
    for (size_t k = 0; k < h.size(); ++k) {
      if (!finite(h[k])) continue;
      const double centre = std::sqrt(edges.at(k).get<double>() * edges.at(k + 1).get<double>());
      rows.push_back({{"set", name}, {"relative", centre}, {"fraction", h[k]}});
    }
  }
  Chart c{"chart-image-stats-histogram", {}, {}};
  c.spec = {
      {"$schema", page::kVegaLiteSchema},
      {"title", "Mean count histogram of the body pixels"},
      {"width", 360},
      {"height", 240},
      {"data", {{"values", rows}}},
      {"mark", {{"type", "line"}, {"strokeWidth", 2}, {"point", true}}},
      {"encoding",
       {{"x",
         {{"field", "relative"}, {"type", "quantitative"}, {"scale", {{"type", "log"}}}, {"title", "counts / median"}}},
        {"y", {{"field", "fraction"}, {"type", "quantitative"}, {"title", "fraction of body pixels"}}},
        {"color", {{"field", "set"}, {"type", "nominal"}, {"legend", legend_bottom(true)}}},
        {"tooltip", json::array({tip("set", "nominal"), tip("relative", "quantitative", ".3g", "counts / median"),
                                 tip("fraction", "quantitative", ".4f")})}}}};
  c.notes.push_back("Pixel counts of the main view's body divided by their median, on log-spaced bins.");
  return c;
}

void image_stats_html(const json& s, Body& b) {
  const json& cmp = s.at("comparison");
  const json& base = s.at("baseline");
  std::set<std::string> differ;
  for (const auto& d : s.value("differ", json::array())) differ.insert(d.get<std::string>());
  std::string t = fmt::format(
      "<table class=\"metrics\">\n<thead><tr><th>statistic</th><th>real mean (n {})</th><th>synthetic mean (n "
      "{})</th><th>KS D</th><th>KS p</th><th>W1/sd(real)</th><th>baseline W1/sd</th><th>SMD</th></tr></thead>\n"
      "<tbody>\n",
      count(cmp.at("reference").at("n")), count(cmp.at("other").at("n")));
  for (const auto& [name, d] : cmp.at("distances").items()) {
    t += fmt::format(
        "<tr{}><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "</tr>\n",
        differ.count(name) ? " class=\"differ\"" : "", html_escape(name),
        mean_sd(cmp.at("reference").at("statistics").at(name)), mean_sd(cmp.at("other").at("statistics").at(name)),
        fixed(d.at("ks").at("statistic")), p_html(d.at("ks").at("p_value")),
        estimate_html(d.at("wasserstein_sd"), fixed3),
        estimate_html(base.at("distances").at(name).at("wasserstein_sd"), fixed3), fixed(d.at("smd")));
  }
  t += fmt::format(
      "<tr><th>count histogram</th><td colspan=\"4\" class=\"muted\">total variation of the mean histograms</td>"
      "<td>{}</td><td>{}</td><td></td></tr>\n",
      estimate_html(cmp.at("histogram_tv"), fixed3), estimate_html(base.at("histogram_tv"), fixed3));
  b.html += t + "</tbody></table>\n";
  b.html +=
      "<p class=\"muted\">Real vs synthetic: two-sample Kolmogorov-Smirnov D and asymptotic p; Wasserstein-1 "
      "distance in units of the real scans' sd, with its percentile bootstrap CI beside the real-vs-real "
      "baseline's (half B vs half A); SMD: standardised mean difference, synthetic minus real. Statistics in "
      "red differ more than real scans differ from each other.</p>\n<div class=\"charts\">\n";
  b.add(histogram_chart(cmp));
  b.html += "</div>\n";
}

// ---- classifier two-sample test ------------------------------------------------------------------

void c2st_html(const json& s, Body& b) {
  const json& r = s.at("result");
  b.html += encoder_line(s);
  b.html += fmt::format(
      "<p>A classifier told real from synthetic scans with out-of-fold AUC <b>{}</b> ({} real, {} synthetic; {}-fold "
      "cross-validation, folds by subject). 0.5: indistinguishable; 1: always told apart. Features: {}.</p>\n",
      estimate_html(r, fixed3), count(r.at("negatives")), count(r.at("positives")), count(s.at("folds")),
      text(s.value("features", json("n/a"))));
  Chart c{"chart-c2st-roc", {}, {}};
  c.spec = {{"$schema", page::kVegaLiteSchema},
            {"title", "ROC curve of the two-sample classifier"},
            {"width", 270},
            {"height", 270},
            {"layer", roc_layers({{"real vs synthetic, AUC " + fixed(r.at("estimate")), &s.at("roc")}})}};
  b.html += "<div class=\"charts\">\n";
  b.add(std::move(c));
  b.html += "</div>\n";
}

// ---- label fidelity ------------------------------------------------------------------------------

void label_fidelity_html(const json& s, Body& b) {
  b.html += encoder_line(s);
  std::string t =
      "<table class=\"metrics\">\n<thead><tr><th>label</th><th>real +/&minus;</th><th>synthetic +/&minus;</th>"
      "<th>real AUC (CV)</th><th>synthetic AUC</th><th>train synthetic, test real</th><th>difference real &minus; "
      "synthetic</th><th>DeLong p</th><th></th></tr></thead>\n<tbody>\n";
  for (const auto& [name, row] : s.at("labels").items()) {
    const json &r = row.at("real"), &sy = row.at("synthetic");
    t += fmt::format("<tr><th>{}</th><td>{} / {}</td><td>{} / {}</td>", html_escape(name), count(r.at("positives")),
                     count(r.at("negatives")), count(sy.at("positives")), count(sy.at("negatives")));
    if (is_error(row)) {
      t += "<td colspan=\"6\">" + error_html(row) + "</td></tr>\n";
      continue;
    }
    const json& d = row.at("difference");
    const bool pass = row.at("pass").get<bool>();
    t += fmt::format("<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>\n",
                     estimate_html(row.at("real_auc"), fixed3), estimate_html(row.at("synthetic_auc"), fixed3),
                     estimate_html(row.at("tstr_auc"), fixed3), is_error(d) ? error_html(d) : fixed(d.at("estimate")),
                     is_error(d) ? "" : p_html(d.at("p_value")), pass ? "pass" : "fail", pass ? "PASS" : "FAIL");
  }
  b.html += t + "</tbody></table>\n";
  b.html +=
      "<p class=\"muted\">Real AUC: a linear probe on the encoder features, cross-validated on the real scans "
      "(folds by subject). Synthetic AUC: the probe fitted on all real scans scores the synthetic scans by their "
      "generated labels. Train synthetic, test real: a probe fitted on the synthetic scans scores the real ones. "
      "Difference: unpaired DeLong test of real vs synthetic AUC.</p>\n";
}

// ---- memorisation ------------------------------------------------------------------------------

// Nearest-training distances of synthetic and held-out real scans in one space, as histograms on
// kDistanceBins log-spaced bins, with the copy threshold as a rule.
Chart distance_chart(const std::string& id, const std::string& space, const json& sp) {
  Chart c{id, {}, {}};
  const double threshold = finite(sp.at("threshold")) ? sp["threshold"].get<double>() : 0.0;
  const std::pair<const char*, const char*> sets[] = {{"synthetic", "synthetic"}, {"heldout", "held-out real"}};
  double lo = INFINITY, hi = 0;
  for (const auto& [key, label] : sets)
    for (const auto& v : sp.at("distances").at(key))
      if (finite(v) && v.get<double>() > 0) lo = std::min(lo, v.get<double>()), hi = std::max(hi, v.get<double>());
  if (threshold > 0) lo = std::min(lo, threshold), hi = std::max(hi, threshold);
  json rows = json::array();
  if (hi > 0) {
    if (!(hi > lo)) lo /= 1.5, hi *= 1.5;
    const double l0 = std::log10(lo), width = (std::log10(hi) - l0) / kDistanceBins;
    for (const auto& [key, label] : sets) {
      std::vector<size_t> counts(kDistanceBins, 0);
      size_t n = 0, zeros = 0;
      for (const auto& v : sp.at("distances").at(key)) {
        if (!finite(v)) continue;
        const double d = v.get<double>();
        ++n;
        if (d <= 0) ++zeros;
        const int k = d <= 0 ? 0 : static_cast<int>(std::floor((std::log10(d) - l0) / width));
        ++counts[static_cast<size_t>(std::clamp(k, 0, kDistanceBins - 1))];
      }
      if (zeros > 0)
        c.notes.push_back(
            fmt::format("{} {} scans at distance 0 (exact copies), drawn in the first bin.", zeros, label));
      const std::string name = fmt::format("{} (n {})", label, n);
      for (int k = 0; k < kDistanceBins; ++k)
        rows.push_back({{"set", name},
                        {"lower", std::pow(10.0, l0 + k * width)},
                        {"upper", std::pow(10.0, l0 + (k + 1) * width)},
                        {"fraction", n ? static_cast<double>(counts[k]) / static_cast<double>(n) : 0.0},
                        {"scans", counts[k]}});
    }
  }
  const json x = {{"field", "lower"},
                  {"type", "quantitative"},
                  {"scale", {{"type", "log"}}},
                  {"axis", {{"format", "~g"}, {"labelOverlap", "greedy"}}},
                  {"title", "distance to the nearest training scan"}};
  json layers = json::array();
  if (rows.empty()) {
    c.notes.push_back("No positive distance to draw.");
    layers.push_back({{"data", {{"values", json::array({{{"lower", 1}, {"fraction", 0}}})}}},
                      {"mark", "point"},
                      {"encoding", {{"x", x}, {"y", {{"field", "fraction"}, {"type", "quantitative"}}}}}});
  } else {
    layers.push_back(
        {{"data", {{"values", rows}}},
         {"mark", {{"type", "rect"}, {"opacity", 0.5}}},
         {"encoding",
          {{"x", x},
           {"x2", {{"field", "upper"}}},
           {"y", {{"field", "fraction"}, {"type", "quantitative"}, {"title", "fraction of the set's scans"}}},
           {"y2", {{"datum", 0}}},
           {"color", {{"field", "set"}, {"type", "nominal"}, {"legend", legend_bottom()}}},
           {"tooltip", json::array({tip("set", "nominal"), tip("lower", "quantitative", ".4g", "from"),
                                    tip("upper", "quantitative", ".4g", "to"), tip("scans", "quantitative")})}}}});
  }
  if (threshold > 0) {
    layers.push_back(
        {{"data", {{"values", json::array({{{"lower", threshold}, {"label", "copy threshold"}}})}}},
         {"mark", {{"type", "rule"}, {"color", "black"}, {"strokeDash", {5, 3}}, {"strokeWidth", 2}}},
         {"encoding",
          {{"x", x},
           {"tooltip", json::array({tip("label", "nominal"), tip("lower", "quantitative", ".4g", "distance")})}}}});
    c.notes.push_back(
        fmt::format("Dashed line: the copy threshold {}; scans left of it are flagged.", sig4(threshold)));
  } else {
    c.notes.push_back("No copy threshold (too few held-out distances).");
  }
  c.spec = {{"$schema", page::kVegaLiteSchema},
            {"title", fmt::format("Nearest training scan, {} space", space)},
            {"width", 360},
            {"height", 220},
            {"layer", layers}};
  return c;
}

// The PNG file as a data: URI (RFC 4648 base64).
std::string png_data_uri(const std::string& path) {
  static const char* const kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string bytes = read_file(path);
  std::string out = "data:image/png;base64,";
  out.reserve(out.size() + (bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t left = bytes.size() - i;
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (left > 1) v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (left > 2) v |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += left > 1 ? kAlphabet[(v >> 6) & 63] : '=';
    out += left > 2 ? kAlphabet[v & 63] : '=';
  }
  return out;
}

void memorisation_html(const json& s, const std::string& sheet_png, Body& b) {
  b.html += encoder_line(s);
  b.html += fmt::format("<p>Rule: {}.</p>\n", text(s.at("rule")));
  b.html += fmt::format("<p>Flagged as copies: <b>{}</b> synthetic scans (fraction {}).<br>", count(s.at("flagged")),
                        proportion_html(s.at("fraction_ci")));
  b.html += fmt::format(
      "Check of the fit: {} held-out real scans, which the generator never saw, fall below the fitted "
      "thresholds (expected: about 0.1% or fewer; more means the fit understates the tail, and the smallest "
      "held-out distance then bounds the threshold).</p>\n",
      proportion_html(s.at("heldout_below_fit_fraction")));
  std::string t =
      "<table class=\"metrics\">\n<thead><tr><th>space</th><th>copy threshold</th><th>synthetic: nearest distance "
      "min / median</th><th>flagged</th><th>held-out real: nearest distance min / median</th><th>below the fit</th>"
      "<th>synthetic d1/d2 median</th></tr></thead>\n<tbody>\n";
  auto min_median = [](const json& summary) {
    return summary.is_null() ? std::string("n/a") : sig4(summary.at("min")) + " / " + sig4(summary.at("median"));
  };
  for (const auto& [name, sp] : s.at("spaces").items()) {
    const json &syn = sp.at("synthetic"), &held = sp.at("heldout");
    const json& ratio = syn.at("ratio");
    t += fmt::format("<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                     html_escape(name), sig4(sp.at("threshold")), min_median(syn.at("d1")), count(syn.at("flagged")),
                     min_median(held.at("d1")), count(held.at("below_fit")),
                     ratio.is_null() ? "n/a" : fixed(ratio.at("median")));
  }
  b.html += t + "</tbody></table>\n<div class=\"charts\">\n";
  for (const auto& [name, sp] : s.at("spaces").items())
    b.add(distance_chart(chart_id("chart-memorisation-", name, b.ids), name, sp));
  b.html += "</div>\n";

  const json& pairs = s.at("closest_pairs");
  if (pairs.empty()) return;
  t = "<h3>Closest pairs</h3>\n<table class=\"metrics\">\n<thead><tr><th></th><th>synthetic scan</th><th>nearest "
      "training scan</th><th>space</th><th>distance</th><th>2nd nearest</th><th>d1/d2</th><th>distance / "
      "threshold</th><th>flagged</th></tr></thead>\n<tbody>\n";
  size_t i = 0;
  for (const auto& p : pairs) {
    const bool flagged = p.at("flagged").get<bool>();
    t += fmt::format(
        "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td>"
        "</tr>\n",
        ++i, text(p.at("synthetic_id")), text(p.at("train_id")), text(p.at("space")), sig4(p.at("d1")),
        sig4(p.at("d2")), fixed(p.at("ratio")), fixed(p.at("relative")), flagged ? " class=\"fail\"" : "",
        flagged ? "yes" : "no");
  }
  b.html += t + "</tbody></table>\n";
  if (!sheet_png.empty() && std::filesystem::is_regular_file(sheet_png))
    b.html += fmt::format(
        "<figure><img class=\"sheet\" alt=\"closest pairs: each synthetic scan beside its nearest training scan\" "
        "src=\"{}\"><figcaption class=\"chart-note\">Each synthetic scan (SYN, with the space and its distance over "
        "the threshold, T) beside its nearest training scan (TRAIN).</figcaption></figure>\n",
        png_data_uri(sheet_png));
  else
    b.html += "<p class=\"muted\">No closest-pair sheet was written.</p>\n";
}

// ---- membership --------------------------------------------------------------------------------

void membership_html(const json& s, Body& b) {
  const std::pair<const char*, const char*> attacks[] = {
      {"generator_attack", "generator attack (denoising loss)"},
      {"distance_attack", "distance attack (nearest synthetic scan)"}};
  b.html += encoder_line(s);
  std::string t =
      "<table class=\"metrics\">\n<thead><tr><th>attack</th><th>AUC</th><th>members / non-members</th>"
      "<th>score</th></tr></thead>\n<tbody>\n";
  std::vector<std::pair<std::string, const json*>> curves;
  for (const auto& [key, label] : attacks) {
    const json& a = s.at(key);
    t += fmt::format("<tr><th>{}</th><td>{}</td><td>{} / {}</td><td class=\"muted\">{}</td></tr>\n", label,
                     estimate_html(a, fixed3), count(a.at("positives")), count(a.at("negatives")),
                     text(a.value("score", json(""))));
    curves.push_back({fmt::format("{}, AUC {}", label, fixed(a.at("estimate"))), &a.at("roc")});
  }
  b.html += t + "</tbody></table>\n";
  const json& g = s.at("generator_attack");
  if (g.contains("model"))
    b.html += fmt::format(
        "<p class=\"muted\">Generator: <code>{}</code>, SHA-256 <code>{}</code>. Members: its "
        "training scans; non-members: held-out real scans. 0.5: no leak.</p>\n",
        text(g["model"].at("dir")), text(g["model"].at("sha256")));
  Chart c{"chart-membership-roc", {}, {}};
  c.spec = {{"$schema", page::kVegaLiteSchema},
            {"title", "ROC curves of the membership attacks"},
            {"width", 270},
            {"height", 270},
            {"layer", roc_layers(curves)}};
  b.html += "<div class=\"charts\">\n";
  b.add(std::move(c));
  b.html += "</div>\n";
}

// ---- the page ----------------------------------------------------------------------------------

Body body(const json& audit, const std::string& sheet_png) {
  if (audit.at("format") != "scintigen-audit")
    throw InputError(kWhere, fmt::format("format is {}, not \"scintigen-audit\"", audit.at("format").dump()), kHint);
  Body b;
  b.html += summary_html(audit);
  b.html += inputs_html(audit);
  const json& sections = audit.at("sections");
  for (const auto& [key, title] : kSections) {
    const json& s = sections.at(key);
    b.html += fmt::format("<section>\n<h2 id=\"{}\">{}</h2>\n", key, title);
    if (s.contains("skipped")) {
      b.html += fmt::format("<p class=\"skipped\">Skipped: {}.</p>\n</section>\n", text(s.at("skipped")));
      continue;
    }
    const json& v = s.at("verdict");
    b.html += fmt::format("<table class=\"verdict\"><tr>{}</tr></table>\n", verdict_cells(v));
    const std::string k = key;
    if (k == "fidelity")
      fidelity_html(s, b);
    else if (k == "image_stats")
      image_stats_html(s, b);
    else if (k == "c2st")
      c2st_html(s, b);
    else if (k == "label_fidelity")
      label_fidelity_html(s, b);
    else if (k == "memorisation")
      memorisation_html(s, sheet_png, b);
    else
      membership_html(s, b);
    b.html += "</section>\n";
  }
  return b;
}

json charts_json(std::vector<Chart>& charts) {
  json out = json::array();
  for (Chart& c : charts) out.push_back({{"id", c.id}, {"spec", std::move(c.spec)}});
  return out;
}

std::string page_html(const json& audit, const WebAssets& assets, const std::string& sheet_png) {
  Body b = body(audit, sheet_png);
  const std::string synthetic = audit.at("inputs").at("synthetic").at("dataset").get<std::string>();
  std::string h = page::head("scintigen audit: " + synthetic, std::string(page::kSummaryStyle) + kAuditStyle);
  h += fmt::format("<h1>Synthetic data audit: {}</h1>\n", html_escape(synthetic));
  h += "<p class=\"muted\">Is the synthetic set faithful, diverse, correctly labelled and private?</p>\n";
  h += "<ul id=\"plot-problems\" hidden></ul>\n";
  h += b.html;
  h += page::footer(audit.value("versions", json::object()), assets, "scintigen audit", "docs/AUDIT.md");
  return h + page::scripts(charts_json(b.charts), assets);
}

template <typename F>
auto reading_audit(F&& f) {
  return page::reading_json(kWhere, "not a complete scintigen audit report", kHint, std::forward<F>(f));
}

}  // namespace

std::string audit_report_html(const json& audit, const WebAssets& assets, const std::string& sheet_png) {
  return reading_audit([&] { return page_html(audit, assets, sheet_png); });
}

json audit_report_charts(const json& audit) {
  return reading_audit([&] {
    Body b = body(audit, "");
    return charts_json(b.charts);
  });
}

void write_audit_report_html(const std::string& path, const json& audit, const WebAssets& assets,
                             const std::string& sheet_png) {
  write_file_atomic(path, audit_report_html(audit, assets, sheet_png));
}

}  // namespace scintigen::report
