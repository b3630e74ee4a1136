#include "report/reader_html.h"

#include <fmt/format.h>

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
using page::ci_html;
using page::error_html;
using page::is_error;
using page::legend_bottom;
using page::tip;

const char* const kWhere = "reader report";
const char* const kHint = "pass OUT/report.json as written by scintigen reader report";

const char* const kReaderStyle = R"(
tr.pooled th, tr.pooled td { border-top: 2px solid #bbb; }
)";

// ---- values ----------------------------------------------------------------------------------

std::string text(const json& v) {
  if (v.is_null()) return "n/a";
  return html_escape(v.is_string() ? v.get<std::string>() : v.dump());
}
std::string fixed(const json& v) {
  return v.is_number() ? page::num(v, 3) : "n/a";
}
std::string p_html(const json& v) {
  return v.is_number() ? html_escape(page::p_text(v.get<double>())) : "n/a";
}

// {"estimate", "ci"} as "0.512" over "[0.401, 0.622]"; {"error"} its message.
std::string estimate_html(const json& m) {
  if (is_error(m)) return error_html(m);
  std::string h = fixed(m.at("estimate"));
  const json& ci = m.at("ci");
  if (ci.is_object()) h += ci_html(fixed(ci.at("lower")), fixed(ci.at("upper")));
  return h;
}
// A pooled statistic: estimate and CI on the corrected SE, "SE x" under it.
std::string pooled_html(const json& m) {
  if (is_error(m)) return error_html(m);
  return estimate_html(m) + fmt::format("<br><span class=\"count\">SE {}</span>", fixed(m.at("se")));
}
// A Wilson proportion: estimate, CI and "k / n".
std::string proportion_html(const json& p) {
  return estimate_html(p) +
         fmt::format("<br><span class=\"count\">{} / {}</span>", text(p.at("successes")), text(p.at("trials")));
}
std::string kappa_html(const json& k) {
  return is_error(k) ? error_html(k) : fixed(k.at("estimate"));
}
std::string equivalence_html(const json& e) {
  const bool eq = e.at("equivalent").get<bool>();
  return fmt::format("<span class=\"{}\">{}</span><br><span class=\"count\">p = {}</span>", eq ? "pass" : "fail",
                     eq ? "yes" : "no", p_html(e.at("p_value")));
}

struct Body {
  std::string html;
  std::vector<Chart> charts;
  void add(Chart c) {
    html += page::figure(c);
    charts.push_back(std::move(c));
  }
};

// ---- realness ----------------------------------------------------------------------------------

// Every reader's accuracy (and the pooled one) with its CI, the chance line at 0.5 and the band
// 0.5 -/+ margin inside which the accuracy must lie for equivalence.
Chart accuracy_chart(const json& realness, double margin) {
  json rows = json::array();
  auto row = [&](const std::string& name, const char* kind, const json& m) {
    if (is_error(m) || !m.at("estimate").is_number()) return;
    const json& ci = m.at("ci");
    rows.push_back({{"reader", name},
                    {"kind", kind},
                    {"accuracy", m.at("estimate")},
                    {"low", ci.is_object() ? ci.at("lower") : m.at("estimate")},
                    {"high", ci.is_object() ? ci.at("upper") : m.at("estimate")}});
  };
  for (const auto& r : realness.at("readers"))
    row(r.at("reader").get<std::string>(), "reader (Wilson CI)", r.at("accuracy"));
  const json& pooled = realness.at("pooled");
  if (!is_error(pooled)) row("pooled", "pooled (reader x case CI)", pooled.at("accuracy"));
  const json x = axis("accuracy", "accuracy of the real / synthetic call");
  const json y = {{"field", "reader"}, {"type", "nominal"}, {"sort", nullptr}, {"title", nullptr}};
  json layers = json::array();
  layers.push_back({{"data", {{"values", json::array({{{"low", 0.5 - margin}, {"high", 0.5 + margin}}})}}},
                    {"mark", {{"type", "rect"}, {"color", "#8c8"}, {"opacity", 0.25}}},
                    {"encoding", {{"x", {{"field", "low"}, {"type", "quantitative"}}}, {"x2", {{"field", "high"}}}}}});
  layers.push_back({{"data", {{"values", json::array({{{"chance", 0.5}}})}}},
                    {"mark", {{"type", "rule"}, {"color", "#888"}, {"strokeDash", {4, 4}}}},
                    {"encoding", {{"x", {{"field", "chance"}, {"type", "quantitative"}}}}}});
  const json color = {{"field", "kind"}, {"type", "nominal"}, {"legend", legend_bottom()}};
  layers.push_back({{"mark", {{"type", "rule"}, {"strokeWidth", 2}}},
                    {"encoding",
                     {{"x", {{"field", "low"}, {"type", "quantitative"}}},
                      {"x2", {{"field", "high"}}},
                      {"y", y},
                      {"color", color}}}});
  layers.push_back({{"mark", {{"type", "point"}, {"filled", true}, {"size", 60}}},
                    {"encoding",
                     {{"x", x},
                      {"y", y},
                      {"color", color},
                      {"tooltip", json::array({tip("reader", "nominal"), tip("accuracy", "quantitative", ".3f"),
                                               tip("low", "quantitative", ".3f", "CI from"),
                                               tip("high", "quantitative", ".3f", "CI to")})}}}});
  Chart c{"chart-reader-accuracy", {}, {}};
  c.spec = {{"$schema", page::kVegaLiteSchema},
            {"title", "Accuracy of the real / synthetic call"},
            {"width", 360},
            {"data", {{"values", rows}}},
            {"layer", layers}};
  c.notes.push_back(
      fmt::format("Dashed: chance (0.5). Green band: 0.5 &plusmn; {} (the equivalence margin fixed "
                  "at create); equivalence needs the accuracy shown to lie inside it.",
                  page::num(margin, 2)));
  return c;
}

// The readers' ROC curves of the 10-point rating (1 certain real .. 10 certain synthetic).
Chart roc_chart(const json& realness) {
  const json x = axis("fpr", "false positive rate (real called synthetic)");
  const json y = axis("tpr", "true positive rate (synthetic called synthetic)");
  json rows = json::array();
  for (const auto& r : realness.at("readers")) {
    const json& roc = r.at("roc");
    if (is_error(roc) || is_error(r.at("auc"))) continue;
    const std::string label =
        fmt::format("{}, AUC {}", r.at("reader").get<std::string>(), fixed(r.at("auc").at("estimate")));
    size_t i = 0;
    for (const auto& p : roc)
      rows.push_back({{"curve", label}, {"i", i++}, {"fpr", p.at("fpr")}, {"tpr", p.at("tpr")}});
  }
  json layers = json::array({page::diagonal_layer(x, y)});
  layers.push_back({{"data", {{"values", rows}}},
                    {"mark", {{"type", "line"}, {"strokeWidth", 2}, {"point", true}}},
                    {"encoding",
                     {{"x", x},
                      {"y", y},
                      {"color", {{"field", "curve"}, {"type", "nominal"}, {"legend", legend_bottom(true)}}},
                      {"order", {{"field", "i"}, {"type", "quantitative"}}},
                      {"tooltip", json::array({tip("curve", "nominal"), tip("fpr", "quantitative", ".3f"),
                                               tip("tpr", "quantitative", ".3f")})}}}});
  Chart c{"chart-reader-roc", {}, {}};
  c.spec = {{"$schema", page::kVegaLiteSchema},
            {"title", "ROC curves of the readers' ratings"},
            {"width", 270},
            {"height", 270},
            {"layer", layers}};
  c.notes.push_back(
      "Rating: a call of synthetic with confidence c is 5 + c, of real 6 - c. An AUC of 0.5 (the diagonal): the "
      "readers cannot tell the origins apart.");
  return c;
}

std::string pooled_summary(const json& pooled, const json& study) {
  if (is_error(pooled)) return "<p>Pooled: " + error_html(pooled) + "</p>\n";
  const json& e = pooled.at("equivalence");
  const bool eq = e.at("equivalent").get<bool>();
  const json& acc = pooled.at("accuracy");
  std::string ci = acc.at("ci").is_object()
                       ? fmt::format(" [{}, {}]", fixed(acc["ci"]["lower"]), fixed(acc["ci"]["upper"]))
                       : std::string();
  ci += fmt::format(" (SE {})", fixed(acc.at("se")));
  return fmt::format(
      "<section class=\"summary\">\n<h2>Can the readers tell real from synthetic?</h2>\n<p>Pooled accuracy {}{} over "
      "{} readers and the {} cases every reader answered. Equivalent to chance within &plusmn;{}: <span "
      "class=\"{}\">{}</span> ({}, p = {}, alpha {}).</p>\n</section>\n",
      fixed(acc.at("estimate")), ci, text(pooled.at("readers")), text(pooled.at("complete_cases")),
      page::num(study.at("margin"), 2), eq ? "pass" : "fail", eq ? "yes" : "no", text(e.at("method")),
      p_html(e.at("p_value")), text(e.at("alpha")));
}

void realness_html(const json& realness, const json& study, Body& b) {
  const json& pooled = realness.at("pooled");
  b.html += pooled_summary(pooled, study);
  b.html += "<section>\n<h2 id=\"realness\">Realness</h2>\n";
  std::string t =
      "<table class=\"metrics\">\n<thead><tr><th>reader</th><th>answered</th><th>accuracy</th><th>sensitivity "
      "(synthetic called synthetic)</th><th>specificity (real called real)</th><th>AUC of the rating</th>"
      "<th>equivalent (exact TOST)</th></tr></thead>\n<tbody>\n";
  for (const auto& r : realness.at("readers"))
    t += fmt::format(
        "<tr><th>{}</th><td>{} <span class=\"count\">({} missing)</span></td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td></tr>\n",
        text(r.at("reader")), text(r.at("answered")), text(r.at("missing")), proportion_html(r.at("accuracy")),
        proportion_html(r.at("sensitivity")), proportion_html(r.at("specificity")), estimate_html(r.at("auc")),
        equivalence_html(r.at("equivalence")));
  if (!is_error(pooled))
    t += fmt::format(
        "<tr class=\"pooled\"><th>pooled</th><td>{} complete cases</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{} <span class=\"count\">(z-TOST)</span></td></tr>\n",
        text(pooled.at("complete_cases")), pooled_html(pooled.at("accuracy")), pooled_html(pooled.at("sensitivity")),
        pooled_html(pooled.at("specificity")), pooled_html(pooled.at("auc")),
        equivalence_html(pooled.at("equivalence")));
  b.html += t + "</tbody></table>\n";
  b.html +=
      "<p class=\"muted\">Per reader: Wilson CIs, DeLong CI of the AUC, exact binomial two one-sided tests. Pooled: "
      "the mean over readers on the cases every reader answered. Its SE treats readers and cases as random: the "
      "components of variance of Beiden, Wagner &amp; Campbell (2000) from three bootstraps (readers only, cases "
      "within origin only, both together), V = 2 (V<sub>readers</sub> + V<sub>cases</sub>) &minus; V<sub>both</sub>, "
      "never below V<sub>cases</sub>; resampling both together alone would count the reader x case interaction "
      "three times. Normal CIs (estimate &plusmn; z SE); the equivalence test is the z-TOST on that SE. "
      "report.json keeps the components and the two-way bootstrap's percentile CI.</p>\n";
  b.html += "<div class=\"charts\">\n";
  b.add(accuracy_chart(realness, study.at("margin").get<double>()));
  b.add(roc_chart(realness));
  b.html += "</div>\n";

  const json& g = realness.at("agreement");
  b.html += fmt::format(
      "<h3>Agreement between readers</h3>\n<p>On the {} cases every reader answered. Fleiss' kappa: "
      "{}",
      text(g.at("complete_cases")), kappa_html(g.at("fleiss")));
  if (!is_error(g.at("fleiss")))
    b.html += fmt::format(" (SE {}, p = {})", fixed(g["fleiss"].at("se")), p_html(g["fleiss"].at("p_value")));
  if (g.at("all_agree").is_object())
    b.html += fmt::format("; all readers agree on {} of {} cases", text(g["all_agree"].at("successes")),
                          text(g["all_agree"].at("trials")));
  b.html += ".</p>\n";
  if (!g.at("cohen").empty()) {
    t = "<table class=\"metrics\">\n<thead><tr><th>readers</th><th>Cohen's kappa</th><th>observed agreement</th>"
        "</tr></thead>\n<tbody>\n";
    for (const auto& k : g.at("cohen"))
      t += fmt::format("<tr><th>{} &ndash; {}</th><td>{}</td><td>{}</td></tr>\n", text(k.at("reader1")),
                       text(k.at("reader2")), kappa_html(k),
                       is_error(k) ? std::string("n/a") : fixed(k.at("observed_agreement")));
    b.html += t + "</tbody></table>\n";
  }
  b.html += "</section>\n";
}

// ---- diagnosis ---------------------------------------------------------------------------------

void diagnosis_html(const json& diagnosis, Body& b) {
  b.html += "<section>\n<h2 id=\"diagnosis\">Diagnosis</h2>\n";
  std::string t =
      "<table class=\"metrics\">\n<thead><tr><th>reader</th><th>origin</th><th>metastasis accuracy</th><th>sensitivity"
      "</th><th>specificity</th><th>Cohen's kappa</th><th>grade accuracy</th><th>quadratic kappa</th></tr></thead>\n"
      "<tbody>\n";
  for (const auto& r : diagnosis.at("readers"))
    for (const char* origin : {"real", "synthetic"}) {
      const json &m = r.at(origin).at("metastasis"), &g = r.at(origin).at("grade");
      t += fmt::format(
          "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
          "</tr>\n",
          text(r.at("reader")), origin, proportion_html(m.at("accuracy")), proportion_html(m.at("sensitivity")),
          proportion_html(m.at("specificity")), kappa_html(m.at("kappa")), proportion_html(g.at("accuracy")),
          kappa_html(g.at("kappa")));
    }
  b.html += t + "</tbody></table>\n";
  const json& p = diagnosis.at("pooled");
  if (is_error(p)) {
    b.html += "<p>Pooled: " + error_html(p) + "</p>\n</section>\n";
    return;
  }
  t = fmt::format(
      "<h3>Pooled over readers ({} cases every reader answered)</h3>\n<table class=\"metrics\">\n"
      "<thead><tr><th></th><th>real</th><th>synthetic</th><th>real &minus; synthetic</th></tr></thead>\n"
      "<tbody>\n",
      text(p.at("complete_cases")));
  for (const auto& [key, label] :
       {std::pair{"metastasis_accuracy", "metastasis accuracy"}, std::pair{"grade_accuracy", "grade accuracy"}}) {
    const json& m = p.at(key);
    if (is_error(m))
      t += fmt::format("<tr><th>{}</th><td colspan=\"3\">{}</td></tr>\n", label, error_html(m));
    else
      t += fmt::format("<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>\n", label, estimate_html(m.at("real")),
                       estimate_html(m.at("synthetic")), estimate_html(m.at("difference")));
  }
  b.html += t + "</tbody></table>\n";
  b.html +=
      "<p class=\"muted\">Agreement with the labels the scans carry (for a synthetic scan: the condition the "
      "generator was asked for). Per reader: Wilson CIs. Pooled: mean over readers, percentile CIs of a bootstrap "
      "of the cases within origin (readers fixed). A difference near 0 means physicians see the requested finding "
      "in synthetic scans as often as the recorded one in real scans.</p>\n</section>\n";
}

// ---- missing answers ---------------------------------------------------------------------------

void missing_html(const json& missing, Body& b) {
  b.html +=
      "<section>\n<h2 id=\"missing\">Missing answers</h2>\n<table class=\"metrics\">\n<thead><tr><th>reader"
      "</th><th>answered</th><th>cases not answered</th></tr></thead>\n<tbody>\n";
  for (const auto& r : missing.at("readers")) {
    std::string ids;
    for (const auto& id : r.at("missing")) ids += (ids.empty() ? "" : ", ") + text(id);
    b.html += fmt::format("<tr><th>{}</th><td>{} of {}</td><td><code>{}</code></td></tr>\n", text(r.at("reader")),
                          text(r.at("answered")), text(missing.at("n")), ids.empty() ? "none" : ids);
  }
  b.html +=
      "</tbody></table>\n<p class=\"muted\">Only answered cases count for a reader; the pooled analyses and "
      "the kappas use the cases every reader answered.</p>\n</section>\n";
}

// ---- the page ----------------------------------------------------------------------------------

Body body(const json& r) {
  if (r.at("format") != "scintigen-reader-report")
    throw InputError(kWhere, fmt::format("format is {}, not \"scintigen-reader-report\"", r.at("format").dump()),
                     kHint);
  Body b;
  const json& study = r.at("study");
  std::string readers;
  for (const auto& name : study.at("readers")) readers += (readers.empty() ? "" : ", ") + text(name);
  b.html += fmt::format(
      "<table class=\"meta\"><tr><th>task</th><td>{}</td></tr><tr><th>cases</th><td>{}</td></tr><tr><th>readers"
      "</th><td>{}</td></tr><tr><th>created</th><td>{}</td></tr></table>\n",
      text(study.at("task")), text(study.at("n")), readers, text(study.at("meta").value("created", json())));
  if (r.at("realness").is_object()) realness_html(r["realness"], study, b);
  if (r.at("diagnosis").is_object()) diagnosis_html(r["diagnosis"], b);
  missing_html(r.at("missing"), b);
  return b;
}

json charts_json(std::vector<Chart>& charts) {
  json out = json::array();
  for (Chart& c : charts) out.push_back({{"id", c.id}, {"spec", std::move(c.spec)}});
  return out;
}

std::string page_html(const json& r, const WebAssets& assets) {
  Body b = body(r);
  const std::string study = r.at("config").at("study").get<std::string>();
  std::string h = page::head("scintigen reader report: " + study, std::string(page::kSummaryStyle) + kReaderStyle);
  h += fmt::format("<h1>Reader study: {}</h1>\n", html_escape(study));
  h += "<p class=\"muted\">Blinded reading of real and synthetic scans.</p>\n";
  h += "<ul id=\"plot-problems\" hidden></ul>\n";
  h += b.html;
  h += page::footer(r.value("versions", json::object()), assets, "scintigen reader report", "docs/READER.md");
  return h + page::scripts(charts_json(b.charts), assets);
}

template <typename F>
auto reading_report(F&& f) {
  return page::reading_json(kWhere, "not a complete scintigen reader report", kHint, std::forward<F>(f));
}

}  // namespace

std::string reader_report_html(const json& report, const WebAssets& assets) {
  return reading_report([&] { return page_html(report, assets); });
}

json reader_report_charts(const json& report) {
  return reading_report([&] {
    Body b = body(report);
    return charts_json(b.charts);
  });
}

void write_reader_report_html(const std::string& path, const json& report, const WebAssets& assets) {
  write_file_atomic(path, reader_report_html(report, assets));
}

}  // namespace scintigen::report
