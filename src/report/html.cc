#include "report/html.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/resources.h"
#include "report/page_parts.h"
#include "stats/json.h"
#include "stats/roc.h"

namespace scintigen::report {

using nlohmann::json;

namespace {

using page::axis;
using page::Chart;
using page::ci_html;
using page::diagonal_layer;
using page::error_html;
using page::is_error;
using page::legend_bottom;
using page::num;
using page::p_text;
using page::tip;

const char* const kInstallHint = "run scripts/install-deps.sh (npm ci in web/)";

// ---- formatting of report values -------------------------------------------------------------

std::string auc_cell(const json& j) {
  if (is_error(j)) return "<td>" + error_html(j) + "</td>";
  const stats::AucResult a = stats::auc_from_json(j);
  return "<td>" + num(a.auc) + ci_html(num(a.ci_lower), num(a.ci_upper)) + "</td>";
}

// A Wilson proportion: "0.800 40/50" over its CI.
std::string proportion_cell(const stats::Proportion& p) {
  return fmt::format("<td>{} <span class=\"count\">{}/{}</span>{}</td>", num(p.estimate), p.successes, p.trials,
                     ci_html(num(p.lower), num(p.upper)));
}

std::string conf_text(const json& report) {
  const json& config = report.value("config", json::object());
  return fmt::format("{:g}% CI", 100.0 * config.value("conf_level", 0.95));
}

// ---- tables ----------------------------------------------------------------------------------

std::string model_rows(const char* role, const json& m) {
  return fmt::format(
      "<tr><th>{}</th><td>{}</td><td>threshold {} (Youden on validation), best validation AUC {} (epoch "
      "{})</td></tr>\n",
      role, html_escape(m.value("path", "")), num(m.at("threshold"), 4), num(m.value("best_val_auc", json()), 4),
      m.value("best_epoch", 0));
}

std::string group_row(const std::string& name, const json& g, bool compare) {
  std::string row = fmt::format("<tr><th>{}</th><td>{}</td><td>{}</td>", html_escape(name), g.at("n").get<size_t>(),
                                g.at("positives").get<size_t>());
  row += auc_cell(g.at("auc"));
  const json& m = g.at("at_validation_threshold");
  if (is_error(m)) {
    row += "<td colspan=\"4\">" + error_html(m) + "</td>";
  } else {
    const stats::ThresholdMetrics t = stats::threshold_metrics_from_json(m);
    for (const stats::Proportion* p : {&t.sensitivity, &t.specificity, &t.ppv, &t.npv}) row += proportion_cell(*p);
  }
  row += "<td>" + (g.contains("calibration") ? num(g["calibration"].at("brier")) : std::string("–")) + "</td>";
  if (compare) {
    row += auc_cell(g.at("compare_auc"));
    const json& j = g.at("delong_paired");
    if (is_error(j)) {
      row += "<td colspan=\"2\">" + error_html(j) + "</td>";
    } else {
      const stats::DelongTest t = stats::delong_test_from_json(j);
      row += "<td>" + num(t.difference) + ci_html(num(t.ci_lower), num(t.ci_upper)) + "</td><td>" +
             html_escape(p_text(t.p_value)) + "</td>";
    }
  }
  return row + "</tr>\n";
}

std::string metrics_table(const json& report, const json& d, bool compare) {
  std::string t = "<table class=\"metrics\">\n<thead><tr><th></th><th>n</th><th>positives</th><th>AUC</th>";
  for (const char* k : {"sensitivity", "specificity", "PPV", "NPV"}) t += fmt::format("<th>{}</th>", k);
  t += "<th>Brier</th>";
  if (compare) t += "<th>AUC compare</th><th>AUC difference</th><th>DeLong p</th>";
  t += "</tr></thead>\n<tbody>\n";
  t += group_row("all scans", d.at("overall"), compare);
  for (const auto& s : d.at("sites")) t += group_row("site " + s.at("site").get<std::string>(), s, compare);
  t += "</tbody></table>\n";
  t += fmt::format(
      "<p class=\"muted\">In brackets: {}s, for the AUC by DeLong, for proportions by Wilson. Sensitivity, "
      "specificity, PPV and NPV at the validation threshold (score &ge; threshold is positive), with counts.",
      conf_text(report));
  if (compare) t += " AUC difference: model minus compare model, paired DeLong test.";
  return t + "</p>\n";
}

// ---- charts ----------------------------------------------------------------------------------

// The groups drawn per dataset: all scans, plus each site when there are several.
struct Group {
  std::string label;
  const json* stats;  // the report's overall or sites[] entry
  std::optional<std::string> site;
};

std::vector<Group> plot_groups(const json& d) {
  std::vector<Group> groups = {{"all scans", &d.at("overall"), std::nullopt}};
  if (d.at("sites").size() > 1)
    for (const auto& s : d.at("sites"))
      groups.push_back({"site " + s.at("site").get<std::string>(), &s, s.at("site").get<std::string>()});
  return groups;
}

std::string auc_text(const json& auc) {
  return is_error(auc) ? "n/a" : fmt::format("{:.3f}", stats::auc_from_json(auc).auc);
}

// ROC curves of every group from the report's own scores (cases[]); with --compare the second
// model's curves dashed. The validation threshold's operating point is marked on the overall curve.
Chart roc_chart(const std::string& id, const json& d, bool compare) {
  Chart c{id, {}, {}};
  const json x = axis("fpr", "1 - specificity"), y = axis("tpr", "sensitivity");
  json rows = json::array();
  for (const Group& g : plot_groups(d)) {
    std::vector<int> labels;
    std::vector<double> scores, scores2;
    for (const auto& k : d.at("cases")) {
      if (k.at("label").is_null() || (g.site && k.at("site") != *g.site)) continue;
      labels.push_back(k.at("label").get<int>());
      scores.push_back(k.at("score").get<double>());
      if (compare) scores2.push_back(k.at("score_compare").get<double>());
    }
    std::string curve = g.label + ", AUC " + auc_text(g.stats->at("auc"));
    if (compare) curve += " vs " + auc_text(g.stats->at("compare_auc"));
    try {
      for (int m = 0; m < (compare ? 2 : 1); ++m) {
        const stats::RocCurve roc = stats::roc_curve(labels, m ? scores2 : scores, g.label);
        for (size_t i = 0; i < roc.points.size(); ++i) {
          const auto& p = roc.points[i];
          rows.push_back({{"curve", curve},
                          {"model", m ? "compare model" : "model"},
                          {"i", i},
                          {"fpr", p.fpr},
                          {"tpr", p.tpr},
                          {"threshold", stats::json_number(p.threshold)}});
        }
      }
    } catch (const InputError& e) {
      c.notes.push_back(fmt::format("No ROC curve for {}: {}", html_escape(g.label), html_escape(e.reason())));
    }
  }
  json layers = json::array({diagonal_layer(x, y)});
  if (!rows.empty()) {
    json enc = {{"x", x},
                {"y", y},
                {"color", {{"field", "curve"}, {"type", "nominal"}, {"legend", legend_bottom()}}},
                {"order", {{"field", "i"}, {"type", "quantitative"}}},
                {"tooltip",
                 json::array({tip("curve", "nominal"), tip("model", "nominal"), tip("threshold", "quantitative", ".4f"),
                              tip("tpr", "quantitative", ".3f", "sensitivity"),
                              tip("fpr", "quantitative", ".3f", "1 - specificity")})}};
    if (compare)
      enc["strokeDash"] = {{"field", "model"},
                           {"type", "nominal"},
                           {"legend", legend_bottom()},
                           {"scale", {{"domain", {"model", "compare model"}}, {"range", {{1, 0}, {6, 3}}}}}};
    layers.push_back(
        {{"data", {{"values", rows}}}, {"mark", {{"type", "line"}, {"strokeWidth", 2}}}, {"encoding", enc}});
  }
  const json& m = d.at("overall").at("at_validation_threshold");
  if (!is_error(m) && m.at("sensitivity").at("estimate").is_number() &&
      m.at("specificity").at("estimate").is_number()) {
    const json point = {{"fpr", 1.0 - m["specificity"]["estimate"].get<double>()},
                        {"tpr", m["sensitivity"]["estimate"].get<double>()},
                        {"label", fmt::format("validation threshold {:.4f}", m.at("threshold").get<double>())}};
    layers.push_back(
        {{"data", {{"values", json::array({point})}}},
         {"mark", {{"type", "point"}, {"filled", true}, {"size", 70}, {"color", "black"}, {"shape", "diamond"}}},
         {"encoding", {{"x", x}, {"y", y}, {"tooltip", json::array({tip("label", "nominal")})}}}});
    c.notes.push_back("&#9670; operating point of all scans at the validation threshold");
  }
  c.spec = {
      {"$schema", page::kVegaLiteSchema}, {"title", "ROC curves"}, {"width", 270}, {"height", 270}, {"layer", layers}};
  return c;
}

// Reliability diagram: per bin, the observed positive rate against the mean predicted probability.
Chart calibration_chart(const std::string& id, const json& d) {
  Chart c{id, {}, {}};
  const json x = axis("predicted", "mean predicted probability"), y = axis("observed", "observed positive rate");
  json rows = json::array();
  size_t bins = 0;
  for (const Group& g : plot_groups(d)) {
    if (!g.stats->contains("calibration")) continue;
    const json& cal = g.stats->at("calibration");
    bins = cal.at("bins").size();
    const std::string label = fmt::format("{}, Brier {}", g.label, num(cal.at("brier")));
    for (const auto& b : cal.at("bins"))
      if (b.at("n").get<size_t>() > 0)
        rows.push_back(
            {{"group", label},
             {"predicted", b.at("mean_predicted")},
             {"observed", b.at("observed_rate")},
             {"n", b.at("n")},
             {"bin", fmt::format("{:.2f} - {:.2f}", b.at("lower").get<double>(), b.at("upper").get<double>())}});
  }
  json layers = json::array({diagonal_layer(x, y)});
  if (rows.empty()) {
    c.notes.push_back("No labelled scans: nothing to calibrate.");
  } else {
    c.notes.push_back("Point area: scans in the bin.");
    const json color = {{"field", "group"}, {"type", "nominal"}, {"legend", legend_bottom()}};
    layers.push_back({{"data", {{"values", rows}}},
                      {"mark", {{"type", "line"}, {"strokeWidth", 1.5}}},
                      {"encoding", {{"x", x}, {"y", y}, {"color", color}}}});
    layers.push_back({{"data", {{"values", rows}}},
                      {"mark", {{"type", "point"}, {"filled", true}}},
                      {"encoding",
                       {{"x", x},
                        {"y", y},
                        {"color", color},
                        {"size", {{"field", "n"}, {"type", "quantitative"}, {"legend", nullptr}}},
                        {"tooltip", json::array({tip("group", "nominal"), tip("bin", "nominal"),
                                                 tip("n", "quantitative"), tip("predicted", "quantitative", ".3f"),
                                                 tip("observed", "quantitative", ".3f")})}}}});
  }
  c.spec = {{"$schema", page::kVegaLiteSchema},
            {"title", fmt::format("Calibration ({} bins)", bins)},
            {"width", 270},
            {"height", 270},
            {"layer", layers}};
  return c;
}

// Kaplan-Meier curves by predicted group, with their pointwise CI bands and censoring marks.
Chart survival_chart(const std::string& id, const json& s) {
  Chart c{id, {}, {}};
  json rows = json::array();
  const std::pair<const char*, const char*> groups[] = {{"predicted_negative", "predicted negative"},
                                                        {"predicted_positive", "predicted positive"}};
  for (const auto& [key, name] : groups) {
    const json& j = s.at("kaplan_meier").at(key);
    if (j.is_null()) continue;
    if (is_error(j)) {
      c.notes.push_back(fmt::format("{}: {}", name, error_html(j)));
      continue;
    }
    const stats::KaplanMeier km = stats::kaplan_meier_from_json(j);
    const std::string label = fmt::format("{} (n {}, {} events)", name, km.n, km.events);
    rows.push_back({{"group", label}, {"time", 0}, {"survival", 1}, {"lower", 1}, {"upper", 1}, {"censored", false}});
    for (const auto& r : km.rows)
      rows.push_back({{"group", label},
                      {"time", r.time},
                      {"survival", r.survival},
                      {"lower", stats::json_number(r.lower)},
                      {"upper", stats::json_number(r.upper)},
                      {"n_risk", r.n_risk},
                      {"censored", r.n_censor > 0}});
  }
  const json& lr = s.at("log_rank");
  std::string title = "Kaplan-Meier by predicted group, log-rank ";
  if (is_error(lr)) {
    title += "n/a";
    c.notes.push_back("log-rank test: " + error_html(lr));
  } else {
    const std::string p = p_text(stats::log_rank_from_json(lr).p_value);
    title += p[0] == '<' ? "p " + p : "p = " + p;
  }
  json x = axis("time", "days since scan", false);
  x["axis"] = {{"tickCount", 6}};
  const json y = axis("survival", "survival probability");
  const json color = {{"field", "group"}, {"type", "nominal"}, {"legend", legend_bottom(true)}};
  json layers = json::array();
  if (rows.empty()) {
    c.notes.push_back("No Kaplan-Meier curve to draw.");
    layers.push_back({{"data", {{"values", json::array({{{"time", 0}, {"survival", 1}}})}}},
                      {"mark", "point"},
                      {"encoding", {{"x", x}, {"y", y}}}});
  } else {
    layers.push_back(
        {{"data", {{"values", rows}}},
         {"mark", {{"type", "area"}, {"interpolate", "step-after"}, {"opacity", 0.15}}},
         {"encoding",
          {{"x", x}, {"y", axis("lower", "survival probability")}, {"y2", {{"field", "upper"}}}, {"color", color}}}});
    layers.push_back({{"data", {{"values", rows}}},
                      {"mark", {{"type", "line"}, {"interpolate", "step-after"}, {"strokeWidth", 2}}},
                      {"encoding",
                       {{"x", x},
                        {"y", y},
                        {"color", color},
                        {"tooltip", json::array({tip("group", "nominal"), tip("time", "quantitative"),
                                                 tip("n_risk", "quantitative", "", "at risk"),
                                                 tip("survival", "quantitative", ".3f")})}}}});
    layers.push_back({{"data", {{"values", rows}}},
                      {"transform", json::array({{{"filter", "datum.censored"}}})},
                      {"mark", {{"type", "point"}, {"shape", "cross"}, {"filled", true}, {"size", 25}}},
                      {"encoding", {{"x", x}, {"y", y}, {"color", color}}}});
    c.notes.push_back("Bands: pointwise CIs (Greenwood, log); + censored.");
  }
  c.spec = {{"$schema", page::kVegaLiteSchema}, {"title", title}, {"width", 320}, {"height", 270}, {"layer", layers}};
  return c;
}

// The charts of dataset number `index`, in page order.
std::vector<Chart> dataset_charts(const json& d, size_t index, bool compare) {
  std::vector<Chart> charts;
  charts.push_back(roc_chart(fmt::format("chart-{}-roc", index), d, compare));
  charts.push_back(calibration_chart(fmt::format("chart-{}-calibration", index), d));
  if (!d.at("survival").is_null())
    charts.push_back(survival_chart(fmt::format("chart-{}-survival", index), d["survival"]));
  return charts;
}

// ---- the page --------------------------------------------------------------------------------

std::string classify_page(const json& report, const WebAssets& assets) {
  const bool compare = report.contains("compare_model");
  const std::string task = report.at("task").get<std::string>();
  const json& model = report.at("model");
  std::string h = page::head(fmt::format("scintigen classify eval: {} classifier {}", task, model.value("path", "")));
  h += fmt::format("<h1>Classifier evaluation: {}</h1>\n", html_escape(task));
  h += "<ul id=\"plot-problems\" hidden></ul>\n";
  h += "<table class=\"meta\">\n";
  h += fmt::format("<tr><th>task</th><td colspan=\"2\">{}</td></tr>\n", html_escape(task));
  h += model_rows("model", model);
  if (compare) h += model_rows("compare model", report["compare_model"]);
  h += fmt::format("<tr><th>created</th><td colspan=\"2\">{}</td></tr>\n", html_escape(report.value("created", "")));
  if (report.contains("note"))
    h += fmt::format("<tr><th>note</th><td colspan=\"2\">{}</td></tr>\n",
                     html_escape(report["note"].get<std::string>()));
  h += "</table>\n";

  json charts = json::array();
  size_t index = 0;
  for (const auto& d : report.at("datasets")) {
    h += fmt::format("<section>\n<h2>Dataset {}</h2>\n", html_escape(d.at("path").get<std::string>()));
    h += fmt::format("<p>{} scans, {} labelled for the task, {} without the label (skipped).",
                     d.at("scans").get<size_t>(), d.at("labelled").get<size_t>(),
                     d.at("skipped_unlabelled").get<size_t>());
    if (!d.at("survival").is_null())
      h += fmt::format(" Survival: {} scans with outcomes, grouped by predicted class (score &ge; {}).",
                       d["survival"].at("n").get<size_t>(), num(model.at("threshold"), 4));
    h += "</p>\n" + metrics_table(report, d, compare) + "<div class=\"charts\">\n";
    for (Chart& c : dataset_charts(d, index++, compare)) {
      h += page::figure(c);
      charts.push_back({{"id", c.id}, {"spec", std::move(c.spec)}});
    }
    h += "</div>\n</section>\n";
  }

  h += page::footer(report.value("versions", json::object()), assets, "scintigen classify eval", "docs/CLASSIFY.md");
  return h + page::scripts(charts, assets);
}

// Runs `f`; a missing or mistyped report field (nlohmann's exceptions) becomes an InputError.
template <typename F>
auto reading_report(F&& f) {
  return page::reading_json("report", "not a classify eval report", "pass the JSON of scintigen classify eval",
                            std::forward<F>(f));
}

}  // namespace

std::string web_dir() {
  return resource_dir(Resource::kWeb);
}

WebAssets load_web_assets(const std::string& dir) {
  WebAssets assets;
  for (const char* package : {"vega", "vega-lite", "vega-embed"}) {
    const std::string root = fmt::format("{}/node_modules/{}", dir, package);
    WebScript s{package, "", ""};
    for (const std::string& file : {root + "/package.json", fmt::format("{}/build/{}.min.js", root, package)})
      if (!std::filesystem::is_regular_file(file))
        throw ConfigError(file, "missing: the HTML report inlines it", kInstallHint);
    try {
      s.version = json::parse(read_file(root + "/package.json")).at("version").get<std::string>();
    } catch (const json::exception& e) {
      throw InputError(root + "/package.json", std::string("no version: ") + e.what(), kInstallHint);
    }
    const std::string js_path = fmt::format("{}/build/{}.min.js", root, package);
    s.js = read_file(js_path);
    for (const char* bad : {"</script", "<!--"})
      if (s.js.find(bad) != std::string::npos)
        throw InputError(js_path, fmt::format("holds \"{}\", which would end the inlined <script>", bad),
                         "pin a build without it in web/package.json");
    assets.scripts.push_back(std::move(s));
  }
  return assets;
}

std::string classify_report_html(const json& report, const WebAssets& assets) {
  return reading_report([&] { return classify_page(report, assets); });
}

json classify_report_charts(const json& report) {
  return reading_report([&] {
    json out = json::array();
    const bool compare = report.contains("compare_model");
    size_t index = 0;
    for (const auto& d : report.at("datasets"))
      for (Chart& c : dataset_charts(d, index++, compare)) out.push_back({{"id", c.id}, {"spec", std::move(c.spec)}});
    return out;
  });
}

void write_classify_report_html(const std::string& path, const json& report, const WebAssets& assets) {
  write_file_atomic(path, classify_report_html(report, assets));
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  return out;
}

std::string json_for_script(const json& value) {
  const std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<')
      out += "\\u003c";
    else
      out += c;
  }
  return out;
}

}  // namespace scintigen::report
