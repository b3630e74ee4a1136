// The HTML summary of a `classify eval` report, without a browser: escaping, error statistics
// shown as text, the embedded charts (ROC points from stats::roc_curve), and the asset loader's
// errors. The JavaScript is a stub here; tests/report/report_browser_test.cc renders the real one.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "core/error.h"
#include "core/fs_util.h"
#include "report/html.h"
#include "report/page_test_util.h"
#include "report/report_fixtures.h"
#include "stats/roc.h"
#include "test_util.h"

namespace scintigen::report {
namespace {

using nlohmann::json;
using scintigen::testing::TempDir;
using testing::count_substrings;
using testing::embedded_charts;
using testing::small_report;
using testing::stub_assets;

TEST(ReportHtml, EscapesNamesInTextAndScripts) {
  const std::string html = classify_report_html(small_report(), stub_assets());
  EXPECT_NE(html.find("Dataset ext/&lt;/script&gt;&lt;b&gt;bold"), std::string::npos);
  EXPECT_NE(html.find("site &lt;!--south"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_EQ(html.find("<!--"), std::string::npos);
  // Only the six script elements close: charts JSON, console capture, 3 libraries, embedding.
  EXPECT_EQ(count_substrings(html, "<script"), 6u);
  EXPECT_EQ(count_substrings(html, "</script"), 6u);
  // The site name reaches the chart legends through the JSON, unharmed.
  const json charts = embedded_charts(html);
  EXPECT_NE(charts.dump().find("site <!--south"), std::string::npos);
}

TEST(ReportHtml, ErrorStatisticsShownAsTheirMessage) {
  const std::string html = classify_report_html(small_report(), stub_assets());
  const std::string err = std::string("<span class=\"err\">") + testing::kOneClassError + "</span>";
  // The hostile site's row: AUC, the four threshold metrics (one cell), compare AUC, paired test.
  const size_t row = html.find("<tr><th>site &lt;!--south</th>");
  ASSERT_NE(row, std::string::npos);
  const std::string tr = html.substr(row, html.find("</tr>", row) - row);
  EXPECT_EQ(tr, "<tr><th>site &lt;!--south</th><td>3</td><td>3</td><td>" + err + "</td><td colspan=\"4\">" + err +
                    "</td><td>0.150</td><td>" + err + "</td><td colspan=\"2\">" + err + "</td>");
  // No ROC curve for it, with the reason under the plot.
  EXPECT_NE(html.find("No ROC curve for site &lt;!--south: only one class"), std::string::npos);
}

TEST(ReportHtml, NumbersWithConfidenceIntervals) {
  const std::string html = classify_report_html(small_report(), stub_assets());
  EXPECT_NE(html.find("In brackets: 95% CIs"), std::string::npos);
  const size_t row = html.find("<tr><th>all scans</th>");
  ASSERT_NE(row, std::string::npos);
  const std::string tr = html.substr(row, html.find("</tr>", row) - row);
  EXPECT_NE(tr.find("<td>0.833<br><span class=\"ci\">[0.600, 1.000]</span></td>"), std::string::npos) << tr;
  EXPECT_NE(tr.find("<td>0.667 <span class=\"count\">4/6</span><br><span class=\"ci\">[0.400, 0.800]</span></td>"),
            std::string::npos)
      << tr;
  EXPECT_NE(tr.find("<td>0.100<br><span class=\"ci\">[0.002, 0.198]</span></td><td>0.046</td>"), std::string::npos)
      << tr;
  EXPECT_NE(html.find("threshold 0.5000"), std::string::npos);
  EXPECT_NE(html.find("torch.libtorch 2.1.2"), std::string::npos);
  EXPECT_NE(html.find("vega-embed 6.0.0"), std::string::npos);
}

TEST(ReportHtml, OneChartPerPlot) {
  const json report = small_report();
  const std::string html = classify_report_html(report, stub_assets());
  const json charts = classify_report_charts(report);
  // Dataset 1: ROC, calibration, survival; dataset 2 (no outcomes): ROC, calibration.
  ASSERT_EQ(charts.size(), 5u);
  EXPECT_EQ(embedded_charts(html), charts);
  EXPECT_EQ(count_substrings(html, "<div class=\"chart\""), 5u);
  for (const auto& c : charts) {
    EXPECT_NE(html.find("<div class=\"chart\" id=\"" + c["id"].get<std::string>() + "\">"), std::string::npos)
        << c["id"];
    EXPECT_EQ(c["spec"]["$schema"], "https://vega.github.io/schema/vega-lite/v5.json");
  }
  EXPECT_EQ(charts[2]["id"], "chart-0-survival");
  EXPECT_EQ(charts[2]["spec"]["title"], "Kaplan-Meier by predicted group, log-rank p = 0.580");
}

TEST(ReportHtml, RocPointsAreTheCasesCurve) {
  const json report = small_report();
  const json charts = classify_report_charts(report);
  const json& rows = charts[0]["spec"]["layer"][1]["data"]["values"];
  std::vector<int> y;
  std::vector<double> s;
  for (const auto& c : report["datasets"][0]["cases"])
    if (!c["label"].is_null() && c["site"] == "north") {
      y.push_back(c["label"]);
      s.push_back(c["score"]);
    }
  const stats::RocCurve roc = stats::roc_curve(y, s);
  std::vector<std::pair<double, double>> drawn;
  for (const auto& r : rows)
    if (r["curve"].get<std::string>().rfind("site north", 0) == 0 && r["model"] == "model")
      drawn.push_back({r["fpr"], r["tpr"]});
  ASSERT_EQ(drawn.size(), roc.points.size());
  for (size_t i = 0; i < drawn.size(); ++i) {
    EXPECT_EQ(drawn[i].first, roc.points[i].fpr) << i;
    EXPECT_EQ(drawn[i].second, roc.points[i].tpr) << i;
  }
  // The compared model's curves are drawn too: 2 groups with curves (all scans, north) x 2 models.
  size_t compare_points = 0;
  for (const auto& r : rows) compare_points += r["model"] == "compare model";
  EXPECT_GT(compare_points, 0u);
}

TEST(ReportHtml, SurvivalErrorsShownAsTheirMessage) {
  json report = small_report();
  json& s = report["datasets"][0]["survival"];
  s["kaplan_meier"]["predicted_positive"] = {{"error", "no <scan> in the group"}};
  s["log_rank"] = {{"error", "one group only"}};
  const std::string html = classify_report_html(report, stub_assets());
  EXPECT_NE(html.find("predicted positive: <span class=\"err\">no &lt;scan&gt; in the group</span>"),
            std::string::npos);
  EXPECT_NE(html.find("log-rank test: <span class=\"err\">one group only</span>"), std::string::npos);
  const json charts = classify_report_charts(report);
  EXPECT_EQ(charts[2]["spec"]["title"], "Kaplan-Meier by predicted group, log-rank n/a");
  s["log_rank"] = small_report()["datasets"][0]["survival"]["log_rank"];
  s["log_rank"]["p_value"] = 2e-6;
  EXPECT_EQ(classify_report_charts(report)[2]["spec"]["title"], "Kaplan-Meier by predicted group, log-rank p < 0.001");
}

TEST(ReportHtml, NotAReport) {
  try {
    classify_report_html(json{{"task", "metastasis"}}, stub_assets());
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "report");
    EXPECT_NE(e.reason().find("not a classify eval report"), std::string::npos) << e.reason();
  }
}

TEST(ReportHtml, JsonForScript) {
  EXPECT_EQ(json_for_script(json{{"a", "</script><!--x"}}), R"({"a":"\u003c/script>\u003c!--x"})");
  EXPECT_EQ(json::parse(json_for_script(json{{"a", "</script><!--x"}}))["a"], "</script><!--x");
  EXPECT_EQ(html_escape("a&b<c>\"d'"), "a&amp;b&lt;c&gt;&quot;d&#39;");
}

void write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

// A web/ folder holding the three packages, with stand-in bundles.
void fake_web_dir(const std::string& dir) {
  for (const char* p : {"vega", "vega-lite", "vega-embed"}) {
    write(dir + "/node_modules/" + p + "/package.json", std::string(R"({"name": ")") + p + R"(", "version": "1.2.3"})");
    write(dir + "/node_modules/" + p + "/build/" + p + ".min.js", std::string("/* ") + p + " */");
  }
}

TEST(ReportAssets, LoadsTheThreeBundles) {
  TempDir t;
  fake_web_dir(t / "web");
  const WebAssets a = load_web_assets(t / "web");
  ASSERT_EQ(a.scripts.size(), 3u);
  EXPECT_EQ(a.scripts[1].package, "vega-lite");
  EXPECT_EQ(a.scripts[1].version, "1.2.3");
  EXPECT_EQ(a.scripts[2].js, "/* vega-embed */");
}

TEST(ReportAssets, MissingFileNamedWithHint) {
  TempDir t;
  fake_web_dir(t / "web");
  const std::string missing = t / "web/node_modules/vega-lite/build/vega-lite.min.js";
  std::filesystem::remove(missing);
  try {
    load_web_assets(t / "web");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.describe(),
              missing + ": missing: the HTML report inlines it (hint: run scripts/install-deps.sh (npm ci in web/))");
  }
}

TEST(ReportAssets, BundleThatWouldEndTheScriptRejected) {
  TempDir t;
  fake_web_dir(t / "web");
  write(t / "web/node_modules/vega/build/vega.min.js", "var s = '</script>';");
  EXPECT_THROW(load_web_assets(t / "web"), InputError);
}

TEST(ReportAssets, WebDirFromTheEnvironment) {
  ::setenv("SCINTIGEN_WEB_DIR", "/somewhere/web", 1);
  EXPECT_EQ(web_dir(), "/somewhere/web");
  ::unsetenv("SCINTIGEN_WEB_DIR");
  EXPECT_EQ(web_dir(), scintigen::testing::source_path("web"));
}

TEST(ReportAssets, WritesAtomically) {
  TempDir t;
  write_classify_report_html(t / "r.html", small_report(), stub_assets());
  EXPECT_EQ(read_file(t / "r.html"), classify_report_html(small_report(), stub_assets()));
}

}  // namespace
}  // namespace scintigen::report
