// The page of `scintigen study` rendered by headless Debian chromium with the real Vega-Lite
// bundles from web/node_modules (as tests/report/audit_report_browser_test.cc does for the audit):
// every chart becomes a vega-embed SVG with drawn marks, and no Vega, Vega-Lite or script error
// appears on the page (#plot-problems). Skipped when chromium is not installed
// (scripts/install-deps.sh installs it).
#include <gtest/gtest.h>

#include "core/fs_util.h"
#include "report/page_test_util.h"
#include "report/report_fixtures.h"
#include "report/study_fixture.h"
#include "report/study_html.h"
#include "test_util.h"

namespace scintigen::report {
namespace {

using nlohmann::json;
using scintigen::testing::TempDir;
using testing::have_chromium;
using testing::render;
using testing::Rendered;

void expect_all_rendered(const std::string& dom, const json& charts) {
  const Rendered r = testing::inspect(dom, "<path");
  EXPECT_TRUE(r.done) << "the embedding script did not finish";
  const size_t list = dom.find("id=\"plot-problems\"");
  EXPECT_EQ(r.problems, 0u) << (list == std::string::npos ? dom : dom.substr(list, 2000));
  std::vector<std::string> ids;
  for (const auto& c : charts) ids.push_back(c["id"].get<std::string>());
  EXPECT_EQ(r.charts_with_svg, ids);
  EXPECT_TRUE(r.charts_without_svg.empty()) << "no SVG: " << ::testing::PrintToString(r.charts_without_svg);
}

TEST(StudyReportBrowser, FullStudyRenders) {
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  TempDir t;
  const json r = testing::study_report();
  write_study_report_html(t / "report.html", r, load_web_assets());
  const json charts = study_report_charts(r);
  ASSERT_EQ(charts.size(), 4u);
  const std::string dom = render(t, t / "report.html");
  expect_all_rendered(dom, charts);
  // The Kaplan-Meier chart's arm menu is bound and lists every arm with curves and the true label.
  EXPECT_NE(dom.find("<select"), std::string::npos);
  EXPECT_NE(dom.find("<option value=\"true label\""), std::string::npos);
  EXPECT_NE(dom.find("<p>pilot &lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; &amp; co</p>"), std::string::npos);
}

// Only errors where the charts take their numbers: the drawable rest still renders.
TEST(StudyReportBrowser, ErrorsAndMissingPartsRender) {
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  TempDir t;
  json r = testing::study_report();
  for (auto& a : r["tasks"][0]["arms"]) {
    if (a["baseline"].get<bool>()) continue;
    a["pooled"]["gain"] = {{"error", "a bootstrap replicate is not finite"}};
    a["survival"]["kaplan_meier"]["predicted_negative"] = {{"error", "no case in group predicted_negative"}};
  }
  r["audit"] = json::object();
  write_study_report_html(t / "report.html", r, load_web_assets());
  const json charts = study_report_charts(r);
  const std::string dom = render(t, t / "report.html");
  expect_all_rendered(dom, charts);
  EXPECT_NE(dom.find("a bootstrap replicate is not finite"), std::string::npos);
}

// The checks above catch a broken library: a truncated vega-embed leaves no SVG and an error.
TEST(StudyReportBrowser, BrokenScriptIsCaught) {
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  TempDir t;
  WebAssets assets = load_web_assets();
  assets.scripts[2].js.resize(assets.scripts[2].js.size() / 2);
  write_study_report_html(t / "report.html", testing::study_report(), assets);
  const Rendered r = testing::inspect(render(t, t / "report.html"), "<path");
  EXPECT_FALSE(r.done);
  EXPECT_GE(r.problems, 1u);
  EXPECT_TRUE(r.charts_with_svg.empty());
  EXPECT_EQ(r.charts_without_svg.size(), 4u);
}

}  // namespace
}  // namespace scintigen::report
