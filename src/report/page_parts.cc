#include "report/page_parts.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>

namespace scintigen::report::page {

using nlohmann::json;

namespace {

const char* const kStyle = R"(
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #222; max-width: 1300px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { padding: 3px 8px; border-bottom: 1px solid #e4e4e4; text-align: left; vertical-align: top; }
table.metrics { font-size: 13px; } table.metrics td, table.metrics th { white-space: nowrap; font-variant-numeric: tabular-nums; }
table.meta th { font-weight: 600; padding-right: 16px; }
.ci, .count, .muted { color: #666; } .count { font-size: 12px; }
.err { color: #a33; font-style: italic; } table.metrics .err { white-space: normal; display: inline-block; max-width: 220px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; } figure { margin: 0; }
.chart-note { font-size: 12px; color: #666; max-width: 400px; }
#plot-problems { color: #a33; border: 1px solid #a33; padding: 8px 24px; }
footer { margin-top: 32px; font-size: 12px; color: #666; }
)";

// vega and vega-lite report problems on the console: show them on the page too (and thereby to
// tests/report/report_browser_test.cc); data-plots="done" marks the end of rendering.
const char* const kCaptureScript = R"(
(function () {
  const list = document.getElementById('plot-problems');
  window.scintigenProblem = function (kind, args) {
    const li = document.createElement('li');
    li.textContent = kind + ': ' + Array.from(args).join(' ');
    list.appendChild(li);
    list.hidden = false;
  };
  for (const kind of ['error', 'warn']) {
    const original = console[kind];
    console[kind] = function () { window.scintigenProblem(kind, arguments); original.apply(console, arguments); };
  }
  window.addEventListener('error', function (e) { window.scintigenProblem('script error', [e.message]); });
})();
)";

const char* const kEmbedScript = R"(
(function () {
  const charts = JSON.parse(document.getElementById('scintigen-charts').textContent);
  const options = {renderer: 'svg', actions: {export: true, source: false, compiled: false, editor: false}};
  Promise.allSettled(charts.map(function (c) {
    return vegaEmbed('#' + c.id, c.spec, options).catch(function (e) { window.scintigenProblem('error', [c.id + ': ' + e]); });
  })).then(function () { document.body.dataset.plots = 'done'; });
})();
)";

// Flattens {"torch": {"libtorch": "2.1"}} to "torch.libtorch 2.1".
void flatten_versions(const json& j, const std::string& prefix, std::vector<std::string>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object())
      flatten_versions(*it, key, out);
    else
      out.push_back(html_escape(key) + " " + html_escape(it->is_string() ? it->get<std::string>() : it->dump()));
  }
}

}  // namespace

bool is_error(const json& j) {
  return j.is_object() && j.contains("error");
}

std::string error_html(const json& j) {
  const json& e = j.at("error");
  return "<span class=\"err\">" + html_escape(e.is_string() ? e.get<std::string>() : e.dump()) + "</span>";
}

std::string num(double v, int digits) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "–";
}
std::string num(const std::optional<double>& v) {
  return v ? num(*v) : "–";
}
std::string num(const json& v, int digits) {
  return v.is_number() ? num(v.get<double>(), digits) : "–";
}

std::string chart_id(const std::string& base, const std::string& name, std::set<std::string>& used) {
  std::string id = base;
  for (char c : name) id += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-';
  for (int k = 2; used.count(id); ++k) id = fmt::format("{}-{}", id, k);
  used.insert(id);
  return id;
}

std::string p_text(double p) {
  if (!std::isfinite(p)) return "–";
  return p < 0.001 ? "< 0.001" : fmt::format("{:.3f}", p);
}

std::string ci_html(const std::string& lower, const std::string& upper) {
  return fmt::format("<br><span class=\"ci\">[{}, {}]</span>", lower, upper);
}

json axis(const char* field, const char* title, bool unit_domain) {
  json a = {{"field", field}, {"type", "quantitative"}, {"title", title}};
  if (unit_domain) a["scale"] = {{"domain", {0, 1}}};
  return a;
}

json diagonal_layer(const json& x, const json& y) {
  return {{"data", {{"values", json::array({{{x["field"], 0}, {y["field"], 0}}, {{x["field"], 1}, {y["field"], 1}}})}}},
          {"mark", {{"type", "line"}, {"color", "#aaa"}, {"strokeDash", {4, 4}}, {"strokeWidth", 1}}},
          {"encoding", {{"x", x}, {"y", y}}}};
}

json tip(const char* field, const char* type, const char* format, const char* title) {
  json t = {{"field", field}, {"type", type}};
  if (*format) t["format"] = format;
  if (*title) t["title"] = title;
  return t;
}

json legend_bottom(bool line_symbols) {
  json l = {{"orient", "bottom"}, {"direction", "vertical"}, {"title", nullptr}, {"labelLimit", 400}};
  if (line_symbols) l.update({{"symbolType", "stroke"}, {"symbolOpacity", 1}, {"symbolStrokeWidth", 2}});
  return l;
}

std::string figure(const Chart& c) {
  std::string h = fmt::format("<figure><div class=\"chart\" id=\"{}\"></div>", c.id);
  for (const auto& note : c.notes) h += "<figcaption class=\"chart-note\">" + note + "</figcaption>";
  return h + "</figure>\n";
}

std::string head(const std::string& title, const std::string& extra_style) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<title>" + html_escape(title) + "</title>\n";
  return h + "<style>" + kStyle + extra_style + "</style>\n</head>\n<body>\n";
}

std::string footer(const json& versions, const WebAssets& assets, const std::string& command, const std::string& doc) {
  std::vector<std::string> parts;
  flatten_versions(versions, "", parts);
  for (const auto& s : assets.scripts) parts.push_back(html_escape(s.package + " " + s.version));
  std::string h = "<footer>Versions: ";
  for (size_t i = 0; i < parts.size(); ++i) h += (i ? ", " : "") + parts[i];
  return h + fmt::format(".<br>Report written by <code>{}</code>; plots by Vega-Lite. Numbers: {}.</footer>\n",
                         html_escape(command), html_escape(doc));
}

std::string scripts(const json& charts, const WebAssets& assets) {
  std::string h =
      "<script type=\"application/json\" id=\"scintigen-charts\">" + json_for_script(charts) + "</script>\n";
  h += "<script>" + std::string(kCaptureScript) + "</script>\n";
  for (const auto& s : assets.scripts)
    h += fmt::format("<script>/* {} {} */\n{}\n</script>\n", s.package, s.version, s.js);
  return h + "<script>" + kEmbedScript + "</script>\n</body>\n</html>\n";
}

}  // namespace scintigen::report::page
