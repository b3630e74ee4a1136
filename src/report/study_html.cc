#include "report/study_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/fs_util.h"
#include "report/page_parts.h"

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

const char* const kWhere = "study report";
const char* const kHint = "pass OUT/report.json as written by scintigen study";

const char* const kStudyStyle = R"(
.warning { color: #a33; } .rule { color: #555; font-size: 12px; }
table.metrics td.arm, table.metrics th.arm { white-space: normal; }
pre.config { font-size: 12px; background: #f6f6f6; padding: 8px; overflow-x: auto; max-height: 480px; }
details { margin: 8px 0; }
)";

// ---- values ----------------------------------------------------------------------------------

// A string (or other value) as HTML text; null is "–".
std::string text(const json& v) {
  if (v.is_null()) return "–";
  return html_escape(v.is_string() ? v.get<std::string>() : v.dump());
}

std::string fixed3(const json& v) {
  return page::num(v, 3);
}
// A gain: "+0.012", "-0.030".
std::string signed3(const json& v) {
  if (!v.is_number() || !std::isfinite(v.get<double>())) return "–";
  return fmt::format("{:+.3f}", v.get<double>());
}
// A relative gain as a percentage: "+3.2%".
std::string percent(const json& v) {
  if (!v.is_number() || !std::isfinite(v.get<double>())) return "–";
  return fmt::format("{:+.1f}%", 100.0 * v.get<double>());
}
std::string count(const json& v) {
  return v.is_number_integer() ? v.dump() : "–";
}

using Format = std::string (*)(const json&);

// The CI of {"ci": {"lower", "upper"}} on a line of its own; "" when there is none.
std::string ci_of(const json& m, Format f) {
  if (!m.contains("ci") || !m["ci"].is_object()) return "";
  return ci_html(f(m["ci"].at("lower")), f(m["ci"].at("upper")));
}

// {"estimate", "sd"?, "ci"?} as "estimate (sd x)" over "[lower, upper]"; {"error"} as its text.
std::string estimate_html(const json& m, Format f) {
  if (m.is_null()) return "–";
  if (is_error(m)) return error_html(m);
  std::string h = f(m.at("estimate"));
  if (m.contains("sd")) h += fmt::format(" <span class=\"ci\">(sd {})</span>", page::num(m["sd"], 3));
  return h + ci_of(m, f);
}

std::string conf_text(const json& report) {
  return fmt::format("{:g}%", 100.0 * report.at("analysis").value("conf_level", 0.95));
}

// The entry of `list` whose `key` is `name`; nullptr when there is none.
const json* find_by(const json& list, const char* key, const std::string& name) {
  for (const auto& e : list)
    if (e.value(key, std::string()) == name) return &e;
  return nullptr;
}

struct Body {
  std::string html;
  std::vector<Chart> charts;
  std::set<std::string> ids;

  void add(Chart c) {
    html += page::figure(c);
    charts.push_back(std::move(c));
  }
};

// ---- summary -----------------------------------------------------------------------------------

std::string summary_html(const json& report) {
  const json& pe = report.at("primary_endpoint");
  std::string h = "<section class=\"summary\" id=\"summary\">\n<h2>Primary endpoint</h2>\n<table class=\"meta\">\n";
  h += fmt::format("<tr><th>task, arm</th><td>{}, <b>{}</b> against the baseline</td></tr>\n", text(pe.at("task")),
                   text(pe.at("arm")));
  h += fmt::format("<tr><th>hypothesis</th><td>{} (statistic {}, alpha {})</td></tr>\n",
                   text(pe.value("hypothesis", json())), text(pe.at("statistic")), page::num(pe.at("alpha"), 3));
  const json gain = pe.value("pooled_gain", json());
  h += "<tr><th>pooled gain</th><td>";
  if (gain.is_null())
    h += "<span class=\"err\">not in the report (no such task or arm)</span>";
  else
    h += estimate_html(gain, signed3) +
         fmt::format(" <span class=\"muted\">({} {})</span>", conf_text(report),
                     gain.contains("ci") ? text(gain["ci"].value("method", json())) : std::string("CI"));
  h += "</td></tr>\n<tr><th>result</th>";
  if (pe.contains("met") && pe["met"].is_boolean()) {
    const bool met = pe["met"].get<bool>();
    h += fmt::format(
        "<td><span class=\"{}\">{}</span> <span class=\"rule\">Rule: met when the CI's lower bound is above "
        "0</span></td>",
        met ? "pass" : "fail", met ? "MET" : "NOT MET");
  } else {
    h += "<td><span class=\"err\">not decided: the pooled gain has no CI</span></td>";
  }
  h += "</tr>\n</table>\n<p class=\"muted\">The endpoint was fixed in the config (primary_endpoint) before the study "
       "ran; every other comparison on this page is secondary.</p>\n";
  if (report.contains("design_warnings") && !report["design_warnings"].empty()) {
    h += "<h3 class=\"warning\">Design warnings</h3>\n<ul class=\"warning\">\n";
    for (const auto& w : report["design_warnings"]) h += "<li>" + text(w) + "</li>\n";
    h += "</ul>\n";
  }
  return h + "</section>\n";
}

// ---- design ------------------------------------------------------------------------------------

std::string arm_source(const json& a) {
  if (!a.value("synthetic", std::string()).empty()) return "synthetic set " + text(a["synthetic"]);
  if (!a.value("simulate", std::string()).empty())
    return "fresh simulator scans of the " + text(a["simulate"]) + " profile";
  if (a.value("donor", false)) return "the donor's real scans";
  return "none (the small centre alone)";
}

// "key value, key value" of an object's scalar entries (nested objects as JSON).
std::string settings_text(const json& o) {
  std::string h;
  for (const auto& [k, v] : o.items()) {
    if (v.is_string() && v.get<std::string>().empty()) continue;
    if ((v.is_object() || v.is_array()) && v.empty()) continue;
    h += (h.empty() ? "" : ", ") + html_escape(k) + " <code>" + text(v) + "</code>";
  }
  return h.empty() ? "–" : h;
}

// "k of n (p%)" of the label values in `yes` among the known values of summarize_dataset's counts.
std::string share_text(const json& counts, const std::vector<std::string>& yes) {
  if (!counts.is_object()) return "–";
  size_t k = 0, n = 0;
  for (const auto& [value, c] : counts.items()) {
    if (value == "(unknown)") continue;
    n += c.get<size_t>();
    for (const auto& y : yes)
      if (value == y) k += c.get<size_t>();
  }
  if (n == 0) return "–";
  return fmt::format("{} of {} ({:.1f}%)", k, n, 100.0 * static_cast<double>(k) / static_cast<double>(n));
}

std::string cohorts_html(const json& cohorts) {
  bool any_age = false;
  for (const auto& [name, c] : cohorts.items()) any_age = any_age || c.contains("age");
  std::string h =
      "<h3 id=\"cohorts\">Cohorts</h3>\n<table class=\"metrics\">\n<thead><tr><th>cohort</th><th>scans</th>"
      "<th>metastasis</th><th>Perugini &ge; 2</th><th>women</th><th>tracers</th>";
  if (any_age) h += "<th>age</th>";
  h += "</tr></thead>\n<tbody>\n";
  for (const auto& [name, c] : cohorts.items()) {
    const json labels = c.value("labels", json::object());
    std::string tracers;
    const json tracer = labels.value("tracer", json::object());
    for (const auto& [t, n] : tracer.items())
      tracers += (tracers.empty() ? "" : ", ") + html_escape(t) + " " + count(n);
    h += fmt::format("<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>", html_escape(name),
                     count(c.at("scans")), share_text(labels.value("metastasis", json()), {"1"}),
                     share_text(labels.value("cardiac_grade", json()), {"2", "3"}),
                     share_text(labels.value("sex", json()), {"F"}), tracers.empty() ? "–" : tracers);
    if (any_age) {
      const json age = c.value("age", json());
      h += "<td>" +
           (age.is_object() && age.contains("mean")
                ? fmt::format("{} <span class=\"ci\">(sd {})</span>", page::num(age["mean"], 1),
                              page::num(age.value("sd", json()), 1))
                : std::string("–")) +
           "</td>";
    }
    h += "</tr>\n";
  }
  return h +
         "</tbody></table>\n<p class=\"muted\">Shares among the scans whose label is known. Perugini &ge; 2: the "
         "cardiac task's positives.</p>\n";
}

std::string sites_html(const json& tasks) {
  std::string h =
      "<h3 id=\"sites\">External sites</h3>\n<table class=\"metrics\">\n<thead><tr><th>task</th><th>site</th>"
      "<th>cases</th><th>positives</th><th>negatives</th><th>flag</th></tr></thead>\n<tbody>\n";
  for (const auto& t : tasks)
    for (const auto& s : t.at("sites")) {
      const bool flagged = s.value("flagged", false);
      h += fmt::format(
          "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", text(t.at("task")),
          text(s.at("site")), count(s.at("cases")), count(s.at("positives")), count(s.at("negatives")),
          flagged ? "<span class=\"warning\">flagged: " + text(s.value("reason", json("small"))) + "</span>"
                  : std::string("–"));
    }
  return h + "</tbody></table>\n";
}

std::string design_html(const json& report) {
  const json& cfg = report.at("study").at("config");
  const json& arms = cfg.at("arms");
  const std::string upper = cfg.value("upper", std::string());
  std::string h = "<h2 id=\"design\">Design</h2>\n";
  h += "<table class=\"metrics\">\n<thead><tr><th>arm</th><th>small centre</th><th>added scans</th><th>multiple</th>"
       "<th>role</th></tr></thead>\n<tbody>\n";
  for (size_t k = 0; k < arms.size(); ++k) {
    const json& a = arms[k];
    const std::string name = a.at("name").get<std::string>();
    std::string role = k == 0 ? "baseline (every gain subtracts it)" : "";
    if (!upper.empty() && name == upper) role = "upper bound (the real-data gain)";
    const double m = a.value("multiple", 0.0);
    h += fmt::format("<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", html_escape(name),
                     a.value("small", true) ? "included" : "<b>not included</b>", arm_source(a),
                     m > 0 ? fmt::format("&times;{:g}", m) : "–", role);
  }
  h += "</tbody></table>\n";
  const json& small = cfg.at("cohorts").at("small");
  const json repeats = report.at("tasks").empty() ? json::array() : report["tasks"][0].at("repeats");
  h += "<table class=\"meta\">\n";
  h += fmt::format(
      "<tr><th>repeats</th><td>{} small-centre draws &times; {} classifier seeds = {} repeats, paired across arms "
      "(train {}, validation {}, internal test {} scans per draw)</td></tr>\n",
      count(small.value("draws", json())), count(cfg.value("seeds", json())), repeats.size(),
      count(small.value("train", json())), count(small.value("val", json())), count(small.value("test", json())));
  h += "<tr><th>classifier</th><td>" + settings_text(cfg.at("classifier")) + "</td></tr>\n";
  h += "<tr><th>generator</th><td>" + settings_text(cfg.at("generator")) + "</td></tr>\n";
  for (const auto& s : cfg.value("synthetic", json::array()))
    h += "<tr><th>synthetic set " + text(s.at("name")) + "</th><td>" + settings_text(s) + "</td></tr>\n";
  h += fmt::format("<tr><th>analysis</th><td>{}</td></tr>\n", settings_text(report.at("analysis")));
  h += "</table>\n";
  if (report.contains("cohorts")) h += cohorts_html(report["cohorts"]);
  return h + sites_html(report.at("tasks"));
}

// ---- per task ----------------------------------------------------------------------------------

// Gains with their CIs: per non-baseline arm, per site (the DeLong contrast of the mean gain over
// repeats) and pooled (the hierarchical bootstrap).
Chart forest_chart(const std::string& id, const json& task) {
  Chart c{id, {}, {}};
  // Errors are noted once per (site, message) with the arms they hit: a one-class site is the
  // same error in every arm.
  std::vector<std::pair<std::pair<std::string, std::string>, std::vector<std::string>>> errors;
  auto note_error = [&](const std::string& arm, const std::string& site, const json& e) {
    const std::pair<std::string, std::string> key{site, error_html(e)};
    for (auto& [k, arms] : errors)
      if (k == key) return arms.push_back(arm);
    errors.push_back({key, {arm}});
  };
  json rows = json::array(), arm_order = json::array(), site_order = json::array();
  for (const auto& s : task.at("sites")) site_order.push_back(s.at("site"));
  site_order.push_back("pooled");
  for (const auto& a : task.at("arms")) {
    if (a.at("baseline").get<bool>()) continue;
    const std::string arm = a.at("arm").get<std::string>();
    arm_order.push_back(arm);
    for (const auto& s : a.at("sites")) {
      const std::string site = s.at("site").get<std::string>();
      if (is_error(s) || is_error(s.at("contrast"))) {
        note_error(arm, site, is_error(s) ? s : s.at("contrast"));
        continue;
      }
      const json& k = s.at("contrast");
      rows.push_back({{"arm", arm},
                      {"site", site},
                      {"gain", k.at("estimate")},
                      {"lower", k.at("ci").at("lower")},
                      {"upper", k.at("ci").at("upper")},
                      {"p_holm", k.value("p_holm", json())}});
    }
    const json& pooled = a.at("pooled");
    const json gain = is_error(pooled) ? pooled : pooled.at("gain");
    if (is_error(gain)) {
      note_error(arm, "pooled", gain);
      continue;
    }
    rows.push_back({{"arm", arm},
                    {"site", "pooled"},
                    {"gain", gain.at("estimate")},
                    {"lower", gain.at("ci").at("lower")},
                    {"upper", gain.at("ci").at("upper")},
                    {"p_holm", nullptr}});
  }
  for (const auto& [key, arms] : errors) {
    std::string names;
    for (const auto& a : arms) names += (names.empty() ? "" : ", ") + a;
    c.notes.push_back(fmt::format("Not drawn: {} ({}): {}", html_escape(key.first), html_escape(names), key.second));
  }
  const json x_title = "AUC gain over the baseline (bars: CI)";
  const json y = {{"field", "arm"}, {"type", "nominal"}, {"sort", arm_order}, {"title", nullptr}};
  const json y_offset = {{"field", "site"}, {"type", "nominal"}, {"sort", site_order}};
  const json color = {{"field", "site"}, {"type", "nominal"}, {"sort", site_order}, {"legend", legend_bottom()}};
  json layers = json::array();
  layers.push_back({{"data", {{"values", json::array({{{"zero", 0}}})}}},
                    {"mark", {{"type", "rule"}, {"color", "#888"}, {"strokeDash", {4, 4}}}},
                    {"encoding", {{"x", {{"field", "zero"}, {"type", "quantitative"}, {"title", x_title}}}}}});
  if (!rows.empty()) {
    layers.push_back({{"data", {{"values", rows}}},
                      {"mark", {{"type", "rule"}, {"strokeWidth", 2}}},
                      {"encoding",
                       {{"x", {{"field", "lower"}, {"type", "quantitative"}, {"title", x_title}}},
                        {"x2", {{"field", "upper"}}},
                        {"y", y},
                        {"yOffset", y_offset},
                        {"color", color}}}});
    layers.push_back(
        {{"data", {{"values", rows}}},
         {"mark", {{"type", "point"}, {"filled", true}, {"size", 60}}},
         {"encoding",
          {{"x", {{"field", "gain"}, {"type", "quantitative"}, {"title", x_title}}},
           {"y", y},
           {"yOffset", y_offset},
           {"color", color},
           {"shape",
            {{"field", "site"},
             {"type", "nominal"},
             {"sort", site_order},
             {"legend", nullptr},
             {"scale", {{"domain", site_order}, {"range", json::array()}}}}},
           {"tooltip", json::array({tip("arm", "nominal"), tip("site", "nominal"), tip("gain", "quantitative", "+.3f"),
                                    tip("lower", "quantitative", "+.3f"), tip("upper", "quantitative", "+.3f"),
                                    tip("p_holm", "quantitative", ".3f", "p (Holm)")})}}}});
    json& shapes = layers.back()["encoding"]["shape"]["scale"]["range"];
    for (size_t k = 0; k + 1 < site_order.size(); ++k) shapes.push_back("circle");
    shapes.push_back("diamond");
  } else {
    c.notes.push_back("No gain to draw.");
  }
  c.notes.push_back(
      "Per site: the mean gain over repeats with the DeLong contrast CI (cases' variance); &#9670; pooled: the mean "
      "over sites with the hierarchical bootstrap CI (sites, cases and repeats resampled).");
  const size_t arms = std::max<size_t>(arm_order.size(), 1);
  c.spec = {{"$schema", page::kVegaLiteSchema},
            {"title", "Gain in external AUC, " + task.at("task").get<std::string>()},
            {"width", 380},
            {"height", static_cast<int>(arms * site_order.size() * 14 + 20)},
            {"layer", layers}};
  return c;
}

// The pooled gain against the synthetic multiple: one line per synthetic set (and one for fresh
// simulator scans), the baseline at multiple 0, arms without the small centre left out.
std::optional<Chart> multiple_chart(const std::string& id, const json& task, const json& config) {
  Chart c{id, {}, {}};
  json rows = json::array();
  std::set<std::string> sets;
  std::string upper_label;
  json upper_gain;
  const std::string upper = config.value("upper", std::string());
  for (const auto& a : config.at("arms")) {
    const std::string name = a.at("name").get<std::string>();
    const json* arm = find_by(task.at("arms"), "arm", name);
    if (!arm) continue;
    const json& pooled = arm->at("pooled");
    const json gain = is_error(pooled) ? pooled : pooled.value("gain", json());
    if (name == upper && gain.is_object() && !is_error(gain)) upper_label = name, upper_gain = gain.at("estimate");
    std::string set;
    if (!a.value("synthetic", std::string()).empty())
      set = "synthetic set " + a["synthetic"].get<std::string>();
    else if (!a.value("simulate", std::string()).empty())
      set = "fresh simulator scans (" + a["simulate"].get<std::string>() + ")";
    if (set.empty() || !a.value("small", true) || !(a.value("multiple", 0.0) > 0)) continue;
    if (!gain.is_object() || is_error(gain)) {
      c.notes.push_back(html_escape(name) + ": " + (gain.is_object() ? error_html(gain) : std::string("no gain")));
      continue;
    }
    sets.insert(set);
    rows.push_back({{"set", set},
                    {"arm", name},
                    {"multiple", a.at("multiple")},
                    {"gain", gain.at("estimate")},
                    {"lower", gain.at("ci").at("lower")},
                    {"upper", gain.at("ci").at("upper")}});
  }
  if (rows.empty()) return std::nullopt;
  const std::string base = task.at("baseline").get<std::string>();
  for (const auto& set : sets)
    rows.push_back({{"set", set}, {"arm", base}, {"multiple", 0}, {"gain", 0}, {"lower", nullptr}, {"upper", nullptr}});
  const json x = {{"field", "multiple"},
                  {"type", "quantitative"},
                  {"scale", {{"padding", 12}}},
                  {"title", "added scans per small-centre training scan (multiple)"}};
  const json y = {{"field", "gain"}, {"type", "quantitative"}, {"title", "pooled AUC gain (bars: bootstrap CI)"}};
  const json color = {{"field", "set"}, {"type", "nominal"}, {"legend", legend_bottom(true)}};
  json layers = json::array();
  layers.push_back({{"data", {{"values", rows}}},
                    {"mark", {{"type", "line"}, {"strokeWidth", 2}}},
                    {"encoding", {{"x", x}, {"y", y}, {"color", color}, {"order", {{"field", "multiple"}}}}}});
  layers.push_back({{"data", {{"values", rows}}},
                    {"transform", json::array({{{"filter", "isValid(datum.lower) && isValid(datum.upper)"}}})},
                    {"mark", {{"type", "rule"}, {"strokeWidth", 1.5}}},
                    {"encoding",
                     {{"x", x},
                      {"y", {{"field", "lower"}, {"type", "quantitative"}}},
                      {"y2", {{"field", "upper"}}},
                      {"color", color}}}});
  layers.push_back(
      {{"data", {{"values", rows}}},
       {"mark", {{"type", "point"}, {"filled", true}, {"size", 50}}},
       {"encoding",
        {{"x", x},
         {"y", y},
         {"color", color},
         {"tooltip",
          json::array({tip("arm", "nominal"), tip("multiple", "quantitative"), tip("gain", "quantitative", "+.3f"),
                       tip("lower", "quantitative", "+.3f"), tip("upper", "quantitative", "+.3f")})}}}});
  if (!upper_label.empty() && upper_gain.is_number()) {
    layers.push_back(
        {{"data", {{"values", json::array({{{"gain", upper_gain}, {"arm", upper_label}}})}}},
         {"mark", {{"type", "rule"}, {"color", "black"}, {"strokeDash", {5, 3}}}},
         {"encoding",
          {{"y", y}, {"tooltip", json::array({tip("arm", "nominal"), tip("gain", "quantitative", "+.3f")})}}}});
    c.notes.push_back("Dashed line: the pooled gain of " + html_escape(upper_label) + " (the real-data gain).");
  }
  c.notes.push_back("At multiple 0: the baseline (gain 0 by definition). Arms without the small centre are left out.");
  c.spec = {{"$schema", page::kVegaLiteSchema},
            {"title", "Pooled gain by amount of added scans, " + task.at("task").get<std::string>()},
            {"width", 360},
            {"height", 240},
            {"layer", layers}};
  return c;
}

std::string arms_table(const json& task) {
  const json& sites = task.at("sites");
  std::string h =
      "<table class=\"metrics\">\n<thead><tr><th>arm</th><th>pooled AUC</th><th>pooled gain</th><th>relative "
      "gain</th><th>share of the real-data gain</th>";
  for (const auto& s : sites) h += "<th>" + text(s.at("site")) + ": gain, p (Holm)</th>";
  h += "</tr></thead>\n<tbody>\n";
  for (const auto& a : task.at("arms")) {
    const bool baseline = a.at("baseline").get<bool>();
    h += "<tr><th class=\"arm\">" + text(a.at("arm")) + (baseline ? " <span class=\"muted\">(baseline)</span>" : "") +
         "</th>";
    const json& pooled = a.at("pooled");
    if (is_error(pooled)) {
      h += "<td colspan=\"4\">" + error_html(pooled) + "</td>";
    } else {
      h += "<td>" + estimate_html(pooled.at("auc"), fixed3) + "</td>";
      if (baseline) {
        h += "<td>–</td><td>–</td><td>–</td>";
      } else {
        h += "<td>" + estimate_html(pooled.at("gain"), signed3) + "</td>";
        h += "<td>" + estimate_html(pooled.at("relative_gain"), percent) + "</td>";
        const json share = pooled.value("share_recovered", json());
        h += "<td>" + (share.is_null() ? std::string("–") : estimate_html(share, percent)) + "</td>";
      }
    }
    for (const auto& s : sites) {
      const json* r = find_by(a.at("sites"), "site", s.at("site").get<std::string>());
      if (!r) {
        h += "<td>–</td>";
      } else if (is_error(*r)) {
        h += "<td>" + error_html(*r) + "</td>";
      } else if (baseline) {
        h += "<td>AUC " + estimate_html(r->at("auc"), fixed3) + "</td>";
      } else {
        const json& k = r->at("contrast");
        if (is_error(k)) {
          h += "<td>" + estimate_html(r->at("gain"), signed3) + "<br>" + error_html(k) + "</td>";
        } else {
          h += "<td>" + signed3(k.at("estimate")) + ci_of(k, signed3) +
               fmt::format("<br><span class=\"ci\">p {}, Holm {}</span>", page::p_text(k.value("p_value", NAN)),
                           k.contains("p_holm") ? page::p_text(k["p_holm"].get<double>()) : "–") +
               "</td>";
        }
      }
    }
    h += "</tr>\n";
  }
  return h + "</tbody></table>\n";
}

std::string internal_html(const json& report, const std::string& task) {
  const json internal = report.value("internal_test", json::object()).value(task, json());
  if (!internal.is_object() || internal.empty()) return "";
  std::string h =
      "<h3>Internal test (the small centre's own held-out scans)</h3>\n<table class=\"metrics\">\n<thead><tr><th>"
      "arm</th><th>AUC, mean over repeats</th><th>sd</th><th>repeats</th></tr></thead>\n<tbody>\n";
  for (const auto& [arm, v] : internal.items()) {
    const json auc = v.value("auc", json());
    h += "<tr><th class=\"arm\">" + html_escape(arm) + "</th>";
    if (is_error(auc))
      h += "<td colspan=\"3\">" + error_html(auc) + "</td>";
    else if (!auc.is_object())
      h += "<td colspan=\"3\" class=\"muted\">no internal-test AUC (one class, or no test scans)</td>";
    else
      h += fmt::format("<td>{}</td><td>{}</td><td>{}</td>", fixed3(auc.at("mean")), fixed3(auc.value("sd", json())),
                       count(auc.value("n", json())));
    h += "</tr>\n";
  }
  return h + "</tbody></table>\n";
}

void task_html(const json& report, const json& task, Body& b) {
  const std::string name = task.at("task").get<std::string>();
  const std::string anchor = chart_id("task-", name, b.ids);
  b.html += fmt::format("<section>\n<h2 id=\"{}\">Task: {}</h2>\n", anchor, html_escape(name));
  b.html += fmt::format(
      "<p class=\"muted\">Gains are AUC(arm) - AUC({}) on the same external cases, paired by repeat ({} repeats). "
      "In brackets: {} CIs.</p>\n",
      text(task.at("baseline")), task.at("repeats").size(), conf_text(report));
  b.html += arms_table(task);
  b.html += "<div class=\"charts\">\n";
  b.add(forest_chart(chart_id("chart-forest-", name, b.ids), task));
  if (auto m = multiple_chart(chart_id("chart-multiple-", name, b.ids), task, report.at("study").at("config")))
    b.add(std::move(*m));
  b.html += "</div>\n";
  b.html += internal_html(report, name);
  b.html += "</section>\n";
}

// ---- survival ----------------------------------------------------------------------------------

std::string cox_hr_html(const json& cox) {
  if (is_error(cox)) return error_html(cox);
  const json& hr = cox.at("terms").at(0).at("hazard_ratio");
  return fixed3(hr.at("estimate")) + ci_of(hr, fixed3);
}

// Kaplan-Meier curves of the first repeat's predicted groups, one arm at a time (a menu), and of
// the true label.
std::optional<Chart> km_chart(const std::string& id, const json& task) {
  Chart c{id, {}, {}};
  json rows = json::array(), options = json::array();
  std::string repeat;
  auto add_curves = [&](const std::string& option, const json& km, const char* prefix) {
    bool any = false;
    for (const char* side : {"negative", "positive"}) {
      const std::string key = std::string(prefix) + "_" + side;
      const json curve = km.value(key, json());
      const std::string group = std::string(prefix == std::string("label") ? "label " : "predicted ") + side;
      if (curve.is_null()) continue;
      if (is_error(curve)) {
        c.notes.push_back(html_escape(option + ", " + group) + ": " + error_html(curve));
        continue;
      }
      any = true;
      const json n = curve.at("n");
      rows.push_back({{"shown", option},
                      {"group", group},
                      {"time", 0},
                      {"survival", 1},
                      {"lower", 1},
                      {"upper", 1},
                      {"n_risk", n},
                      {"censored", false}});
      for (const auto& r : curve.at("curve")) {
        const json& ci = r.at("ci");
        rows.push_back({{"shown", option},
                        {"group", group},
                        {"time", r.at("time")},
                        {"survival", r.at("estimate")},
                        {"lower", ci.is_object() ? ci.value("lower", json()) : json()},
                        {"upper", ci.is_object() ? ci.value("upper", json()) : json()},
                        {"n_risk", r.at("n_risk")},
                        {"censored", r.at("n_censor").get<size_t>() > 0}});
      }
    }
    if (any) options.push_back(option);
  };
  for (const auto& a : task.at("arms")) {
    const json s = a.value("survival", json());
    if (s.is_object() && s.contains("kaplan_meier")) {
      add_curves(a.at("arm").get<std::string>(), s["kaplan_meier"], "predicted");
      if (repeat.empty()) repeat = s["kaplan_meier"].value("repeat", std::string());
    }
  }
  const json& surv = task.at("survival");
  if (surv.contains("kaplan_meier")) add_curves("true label", surv["kaplan_meier"], "label");
  if (rows.empty()) return std::nullopt;
  json x = axis("time", "days since scan", false);
  x["axis"] = {{"tickCount", 6}};
  const json y = axis("survival", "survival probability");
  const json color = {{"field", "group"}, {"type", "nominal"}, {"legend", legend_bottom(true)}};
  const json filter = json::array({{{"filter", "datum.shown === shown"}}});
  json layers = json::array();
  layers.push_back(
      {{"transform", filter},
       {"mark", {{"type", "area"}, {"interpolate", "step-after"}, {"opacity", 0.15}}},
       {"encoding",
        {{"x", x}, {"y", axis("lower", "survival probability")}, {"y2", {{"field", "upper"}}}, {"color", color}}}});
  layers.push_back(
      {{"transform", filter},
       {"mark", {{"type", "line"}, {"interpolate", "step-after"}, {"strokeWidth", 2}}},
       {"encoding",
        {{"x", x},
         {"y", y},
         {"color", color},
         {"tooltip",
          json::array({tip("shown", "nominal", "", "curves of"), tip("group", "nominal"), tip("time", "quantitative"),
                       tip("n_risk", "quantitative", "", "at risk"), tip("survival", "quantitative", ".3f")})}}}});
  layers.push_back({{"transform", json::array({{{"filter", "datum.shown === shown && datum.censored"}}})},
                    {"mark", {{"type", "point"}, {"shape", "cross"}, {"filled", true}, {"size", 25}}},
                    {"encoding", {{"x", x}, {"y", y}, {"color", color}}}});
  c.notes.push_back(fmt::format(
      "Choose the arm under the plot. Groups: the first repeat's classifier ({}) at its validation threshold, all "
      "sites' cases with outcomes pooled; \"true label\": the best achievable split. Bands: pointwise CIs "
      "(Greenwood, log); + censored.",
      html_escape(repeat)));
  c.spec = {{"$schema", page::kVegaLiteSchema},
            {"title", "Kaplan-Meier by predicted group, " + task.at("task").get<std::string>()},
            {"width", 340},
            {"height", 260},
            {"data", {{"values", rows}}},
            {"params", json::array({{{"name", "shown"},
                                     {"value", options[0]},
                                     {"bind", {{"input", "select"}, {"options", options}, {"name", "curves of "}}}}})},
            {"layer", layers}};
  return c;
}

void survival_html(const json& tasks, Body& b) {
  b.html += "<section>\n<h2 id=\"survival\">Survival</h2>\n";
  bool any = false;
  for (const auto& t : tasks) {
    if (!t.contains("survival")) continue;
    any = true;
    const std::string name = t.at("task").get<std::string>();
    const json& s = t["survival"];
    b.html += fmt::format(
        "<h3>{}</h3>\n<p>{} cases with outcomes at the external sites, {} events; Cox models "
        "adjusted for age and sex.</p>\n",
        html_escape(name), count(s.value("cases", json())), count(s.value("events", json())));
    if (is_error(s)) {
      b.html += "<p>" + error_html(s) + "</p>\n";
      continue;
    }
    std::string h =
        "<table class=\"metrics\">\n<thead><tr><th>grouping</th><th>hazard ratio, positive vs negative (arms: mean "
        "over repeats)</th><th>Harrell's C of the score (mean over repeats)</th></tr></thead>\n<tbody>\n";
    h += "<tr><th>true label (best achievable)</th><td>" + cox_hr_html(s.at("true_label")) + "</td><td>–</td></tr>\n";
    for (const auto& a : t.at("arms")) {
      const json sv = a.value("survival", json());
      h += "<tr><th class=\"arm\">" + text(a.at("arm")) + "</th>";
      if (!sv.is_object()) {
        h += "<td colspan=\"2\" class=\"muted\">no survival analysis</td></tr>\n";
        continue;
      }
      const json& hr = sv.at("hazard_ratio");
      const json& ci = sv.at("c_index");
      h += "<td>" + estimate_html(hr, fixed3) +
           (is_error(hr) ? ""
                         : fmt::format(" <span class=\"count\">{} fitted</span>", count(hr.value("fitted", json())))) +
           "</td><td>" + estimate_html(ci, fixed3) + "</td></tr>\n";
    }
    b.html += h + "</tbody></table>\n";
    if (auto c = km_chart(chart_id("chart-km-", name, b.ids), t)) {
      b.html += "<div class=\"charts\">\n";
      b.add(std::move(*c));
      b.html += "</div>\n";
    } else {
      b.html += "<p class=\"muted\">No Kaplan-Meier curves in this report.</p>\n";
    }
  }
  if (!any) b.html += "<p class=\"muted\">No external site has outcomes: no survival analysis.</p>\n";
  b.html += "</section>\n";
}

// ---- subgroups ---------------------------------------------------------------------------------

std::string subgroups_html(const json& tasks) {
  std::string h = "<section>\n<h2 id=\"subgroups\">Subgroups</h2>\n";
  bool any = false;
  for (const auto& t : tasks) {
    const json& groups = t.at("subgroups");
    if (groups.empty()) continue;
    any = true;
    h += "<h3>" + text(t.at("task")) +
         "</h3>\n<table class=\"metrics\">\n<thead><tr><th>subgroup</th><th>cases "
         "(pos / neg)</th>";
    for (const auto& a : t.at("arms")) h += "<th class=\"arm\">" + text(a.at("arm")) + "</th>";
    h += "</tr></thead>\n<tbody>\n";
    for (const auto& g : groups) {
      const std::string name = g.at("subgroup").get<std::string>();
      h += fmt::format("<tr><th>{}</th><td>{} ({} / {})</td>", html_escape(name), count(g.at("cases")),
                       count(g.at("positives")), count(g.at("negatives")));
      for (const auto& a : t.at("arms")) {
        const json* e = find_by(a.at("subgroups"), "subgroup", name);
        if (!e) {
          h += "<td>–</td>";
          continue;
        }
        if (is_error(*e)) {
          h += "<td>" + error_html(*e) + "</td>";
          continue;
        }
        h += "<td>AUC " + estimate_html(e->at("auc"), fixed3);
        if (e->contains("gain")) {
          h += "<br>gain " + signed3((*e)["gain"].at("estimate"));
          const json& k = e->at("contrast");
          h += is_error(k) ? "<br>" + error_html(k) : ci_of(k, signed3);
        }
        h += "</td>";
      }
      h += "</tr>\n";
    }
    h += "</tbody></table>\n";
  }
  if (!any)
    h += "<p class=\"muted\">The config names no subgroups.</p>\n";
  else
    h += "<p class=\"muted\">AUC: mean (sd) over repeats on the subgroup's cases of all sites; gain with the DeLong "
         "contrast CI. Secondary analyses, not corrected for multiplicity.</p>\n";
  return h + "</section>\n";
}

// ---- audit -------------------------------------------------------------------------------------

std::string audit_html(const json& audit) {
  std::string h = "<section>\n<h2 id=\"audit\">Audit of the synthetic sets</h2>\n";
  if (!audit.is_object() || audit.empty())
    return h + "<p class=\"muted\">No audit was run (config audit: null).</p>\n</section>\n";
  auto value = [](const json& s, const char* key) { return s.value(key, json()); };
  h += "<table class=\"metrics\">\n<thead><tr><th>set</th><th>C2ST AUC</th><th>FD matched / baseline</th>"
       "<th>precision</th><th>recall</th><th>coverage</th><th>memorised</th><th>membership AUC</th></tr></thead>\n"
       "<tbody>\n";
  for (const auto& [name, s] : audit.items()) {
    const json c2st = value(s, "c2st");
    std::string c2 = "–";
    if (is_error(c2st))
      c2 = error_html(c2st);
    else if (c2st.is_object())
      c2 = fixed3(c2st.value("auc", json())) +
           ci_html(fixed3(c2st.value("ci_lower", json())), fixed3(c2st.value("ci_upper", json())));
    const json mem = value(s, "memorisation"), memb = value(s, "membership");
    h += fmt::format(
        "<tr><th>{}</th><td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        html_escape(name), c2, page::num(value(s, "fd_matched"), 2), page::num(value(s, "fd_baseline"), 2),
        fixed3(value(s, "precision")), fixed3(value(s, "recall")), fixed3(value(s, "coverage")),
        is_error(mem) ? error_html(mem)
        : mem.is_object()
            ? fmt::format("{} ({})", count(mem.value("flagged", json())), fixed3(mem.value("fraction", json())))
            : std::string("–"),
        is_error(memb)     ? error_html(memb)
        : memb.is_object() ? fixed3(memb.value("auc", json()))
                           : std::string("–"));
  }
  h += "</tbody></table>\n<table class=\"verdicts\">\n<thead><tr><th>set</th><th>check</th><th>verdict</th>"
       "<th></th></tr></thead>\n<tbody>\n";
  for (const auto& [name, s] : audit.items()) {
    const json verdicts = s.value("verdicts", json::object());
    for (const auto& [check, v] : verdicts.items()) {
      const bool pass = v.value("pass", false);
      h += fmt::format(
          "<tr><th>{}</th><td>{}</td><td class=\"{}\">{}</td><td>{}<br><span class=\"rule\">Rule: {}</span></td>"
          "</tr>\n",
          html_escape(name), html_escape(check), pass ? "pass" : "fail", pass ? "PASS" : "FAIL",
          text(v.value("text", json())), text(v.value("rule", json())));
    }
  }
  return h +
         "</tbody></table>\n<p class=\"muted\">From each set's OUT/stages/audit-*/audit/audit.json (docs/AUDIT.md): "
         "C2ST near 0.5 and FD near the real-vs-real baseline mean a faithful set.</p>\n</section>\n";
}

// ---- provenance --------------------------------------------------------------------------------

std::string provenance_html(const json& report) {
  const json& study = report.at("study");
  const json& cfg = study.at("config");
  std::string h = "<section>\n<h2 id=\"provenance\">Provenance</h2>\n<table class=\"meta\">\n";
  const std::string config_path = study.value("config_path", std::string("CONFIG"));
  h += fmt::format(
      "<tr><th>reproduce</th><td><code>scintigen study --config {} --out DIR</code><br><code>scintigen "
      "study --config {} --out DIR --resume</code> (after an interruption; DIR: this report's "
      "folder)</td></tr>\n",
      html_escape(config_path), html_escape(config_path));
  h += fmt::format("<tr><th>seed</th><td>{} (every stage's seed derives from it; bootstrap seed {})</td></tr>\n",
                   text(cfg.value("seed", json())), text(report.at("analysis").value("seed", json())));
  h += fmt::format("<tr><th>created / updated</th><td>{} / {}</td></tr>\n", text(study.value("created", json())),
                   text(study.value("updated", json())));
  h += fmt::format("<tr><th>report written</th><td>{}</td></tr>\n", text(report.value("generated", json())));
  std::string versions;
  const json version_list = study.value("versions", json::object());
  for (const auto& [k, v] : version_list.items())
    versions += (versions.empty() ? "" : ", ") + html_escape(k) + " " + text(v);
  h += "<tr><th>versions</th><td>" + (versions.empty() ? std::string("–") : versions) + "</td></tr>\n";
  h += "</table>\n";
  h += "<details><summary>The config as run (JSON)</summary>\n<pre class=\"config\">" + html_escape(cfg.dump(2)) +
       "</pre></details>\n";
  const json& stages = report.at("stages");
  double total = 0;
  std::string t;
  for (const auto& s : stages) {
    total += s.value("seconds", 0.0);
    t += fmt::format("<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>\n", text(s.at("kind")),
                     text(s.at("label")), text(s.at("hash")), page::num(s.value("seconds", json()), 1));
  }
  h += fmt::format(
      "<details><summary>{} stages, {:.0f} s in all (as last run; a resumed stage keeps its first time)</summary>\n"
      "<table class=\"metrics\">\n<thead><tr><th>kind</th><th>label</th><th>hash</th><th>seconds</th></tr></thead>\n"
      "<tbody>\n{}</tbody></table>\n</details>\n",
      stages.size(), total, t);
  return h + "</section>\n";
}

// ---- the page ----------------------------------------------------------------------------------

Body body(const json& report) {
  if (report.at("format") != "scintigen-study-report")
    throw InputError(kWhere, fmt::format("format is {}, not \"scintigen-study-report\"", report.at("format").dump()),
                     kHint);
  Body b;
  b.html += summary_html(report);
  b.html += design_html(report);
  for (const auto& t : report.at("tasks")) task_html(report, t, b);
  survival_html(report.at("tasks"), b);
  b.html += subgroups_html(report.at("tasks"));
  b.html += audit_html(report.value("audit", json::object()));
  b.html += provenance_html(report);
  return b;
}

json charts_json(std::vector<Chart>& charts) {
  json out = json::array();
  for (Chart& c : charts) out.push_back({{"id", c.id}, {"spec", std::move(c.spec)}});
  return out;
}

std::string page_html(const json& report, const WebAssets& assets) {
  Body b = body(report);
  const json& cfg = report.at("study").at("config");
  const std::string name = cfg.value("name", std::string("study"));
  std::string h = page::head("scintigen study: " + name, std::string(page::kSummaryStyle) + kStudyStyle);
  h += fmt::format("<h1>Study: {}</h1>\n", html_escape(name));
  const std::string description = cfg.value("description", std::string());
  if (!description.empty()) h += "<p>" + html_escape(description) + "</p>\n";
  h += "<p class=\"muted\">Does synthetic data from a data-rich donor centre make a small centre's classifier better "
       "at other hospitals?</p>\n";
  h += "<ul id=\"plot-problems\" hidden></ul>\n";
  h += b.html;
  h += page::footer(report.at("study").value("versions", json::object()), assets, "scintigen study", "docs/STUDY.md");
  return h + page::scripts(charts_json(b.charts), assets);
}

template <typename F>
auto reading_report(F&& f) {
  return page::reading_json(kWhere, "not a complete scintigen study report", kHint, std::forward<F>(f));
}

}  // namespace

std::string study_report_html(const json& report, const WebAssets& assets) {
  return reading_report([&] { return page_html(report, assets); });
}

json study_report_charts(const json& report) {
  return reading_report([&] {
    Body b = body(report);
    return charts_json(b.charts);
  });
}

void write_study_report_html(const std::string& path, const json& report, const WebAssets& assets) {
  write_file_atomic(path, study_report_html(report, assets));
}

}  // namespace scintigen::report
