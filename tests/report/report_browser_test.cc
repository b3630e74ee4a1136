// The HTML summaries rendered by headless Debian chromium: every chart becomes a vega-embed SVG
// with marks, and no Vega, Vega-Lite or script error appears on the page (the page lists them in
// #plot-problems). A page with a broken library must fail these checks. Skipped when chromium
// is not installed (scripts/install-deps.sh installs it).
#include <gtest/gtest.h>

#include <filesystem>

#include "core/fs_util.h"
#include "report/eval_fixture.h"
#include "report/html.h"
#include "report/page_test_util.h"
#include "report/report_fixtures.h"
#include "test_util.h"

namespace scintigen::report {
namespace {

using scintigen::testing::run_command;
using scintigen::testing::TempDir;
using testing::count_substrings;
using testing::have_chromium;
using testing::render;
using testing::Rendered;

void expect_all_rendered(const std::string& dom, size_t charts) {
  const Rendered r = testing::inspect(dom, "mark-line");
  EXPECT_TRUE(r.done) << "the embedding script did not finish";
  EXPECT_EQ(r.problems, 0u) << dom.substr(dom.find("id=\"plot-problems\""), 2000);
  EXPECT_EQ(r.charts_with_svg.size(), charts);
  EXPECT_TRUE(r.charts_without_svg.empty()) << "no SVG: " << ::testing::PrintToString(r.charts_without_svg);
}

TEST(ReportBrowser, EvalReportRenders) {
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  TempDir t;
  ASSERT_NO_FATAL_FAILURE(testing::train_tiny_classifiers(t));
  const auto r = testing::run_eval(t, "--out " + (t / "r.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto report = nlohmann::json::parse(read_file(t / "r.json"));
  // ROC, calibration and survival (the blob scans carry outcomes).
  const size_t charts = classify_report_charts(report).size();
  ASSERT_EQ(charts, 3u);
  const std::string dom = render(t, t / "r.html");
  expect_all_rendered(dom, charts);
  EXPECT_NE(dom.find("Kaplan-Meier by predicted group, log-rank p"), std::string::npos);
}

// Hostile names and error statistics do not break the page.
TEST(ReportBrowser, HandMadeReportRenders) {
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  TempDir t;
  write_classify_report_html(t / "r.html", testing::small_report(), load_web_assets());
  const std::string dom = render(t, t / "r.html");
  expect_all_rendered(dom, 5);
  EXPECT_NE(dom.find("Dataset ext/&lt;/script&gt;&lt;b&gt;bold"), std::string::npos);
  EXPECT_EQ(dom.find("<b>"), std::string::npos);
}

// The checks above catch a broken library: a truncated vega-embed leaves no SVG and an error.
TEST(ReportBrowser, BrokenScriptIsCaught) {
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  TempDir t;
  WebAssets assets = load_web_assets();
  assets.scripts[2].js.resize(assets.scripts[2].js.size() / 2);
  write_classify_report_html(t / "r.html", testing::small_report(), assets);
  const Rendered r = testing::inspect(render(t, t / "r.html"), "mark-line");
  EXPECT_FALSE(r.done);
  EXPECT_GE(r.problems, 1u);
  EXPECT_TRUE(r.charts_with_svg.empty());
  EXPECT_EQ(r.charts_without_svg.size(), 5u);
}

}  // namespace
}  // namespace scintigen::report
