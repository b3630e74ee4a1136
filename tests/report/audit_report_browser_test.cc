// The page of `scintigen audit` rendered by headless Debian chromium with the real Vega-Lite
// bundles from web/node_modules (as tests/report/report_browser_test.cc does for classify eval):
// every chart becomes a vega-embed SVG with marks, and no Vega, Vega-Lite or script error appears
// on the page (#plot-problems). A page with a broken library must fail these checks. Skipped when
// chromium is not installed (scripts/install-deps.sh installs it).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/fs_util.h"
#include "report/audit_fixture.h"
#include "report/audit_html.h"
#include "report/page_test_util.h"
#include "report/report_fixtures.h"
#include "test_util.h"

namespace scintigen::report {
namespace {

using nlohmann::json;
using scintigen::testing::run_command;
using scintigen::testing::TempDir;
using testing::count_substrings;
using testing::have_chromium;
using testing::render;
using testing::Rendered;

void expect_all_rendered(const std::string& dom, const json& charts) {
  const Rendered r = testing::inspect(dom, "<path");
  EXPECT_TRUE(r.done) << "the embedding script did not finish";
  EXPECT_EQ(r.problems, 0u) << dom.substr(dom.find("id=\"plot-problems\""), 2000);
  std::vector<std::string> ids;
  for (const auto& c : charts) ids.push_back(c["id"].get<std::string>());
  EXPECT_EQ(r.charts_with_svg, ids);
  EXPECT_TRUE(r.charts_without_svg.empty()) << "no SVG: " << ::testing::PrintToString(r.charts_without_svg);
}

// A 2 x 2 RGB PNG (IHDR, IDAT, IEND), so the page's <img> has a real image to decode.
std::string tiny_png() {
  static const unsigned char bytes[] = {
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
      0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0xfd, 0xd4, 0x9a, 0x73, 0x00, 0x00, 0x00, 0x10, 0x49,
      0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0x00, 0x04, 0xff, 0x19, 0x20, 0x14, 0x00, 0x1b, 0xf2, 0x03, 0xfd,
      0xd6, 0x96, 0xf2, 0x2b, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
  return std::string(reinterpret_cast<const char*>(bytes), sizeof bytes);
}

TEST(AuditReportBrowser, FullAuditRenders) {
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  TempDir t;
  { std::ofstream(t / "closest_pairs.png", std::ios::binary) << tiny_png(); }
  const json a = testing::full_audit();
  write_audit_report_html(t / "audit.html", a, load_web_assets(), t / "closest_pairs.png");
  const json charts = audit_report_charts(a);
  ASSERT_EQ(charts.size(), 6u);
  const std::string dom = render(t, t / "audit.html");
  expect_all_rendered(dom, charts);
  // The hostile path stays text; the sheet is an image of the page itself.
  EXPECT_NE(dom.find("Synthetic data audit: syn/&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(dom.find("<img class=\"sheet\""), std::string::npos);
}

TEST(AuditReportBrowser, SkippedSectionsAndNullsRender) {
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  TempDir t;
  json a = testing::skipped_audit();
  // A null estimate in the dot plot, and a memorisation space with an exact copy only.
  a["sections"]["fidelity"]["overall"]["recall"] = {{"estimate", nullptr}, {"ci", nullptr}};
  write_audit_report_html(t / "audit.html", a, load_web_assets());
  const std::string dom = render(t, t / "audit.html");
  expect_all_rendered(dom, audit_report_charts(a));
  EXPECT_NE(dom.find("Skipped: no --train."), std::string::npos);
}

// The checks above catch a broken library: a truncated vega-embed leaves no SVG and an error.
TEST(AuditReportBrowser, BrokenScriptIsCaught) {
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  TempDir t;
  WebAssets assets = load_web_assets();
  assets.scripts[2].js.resize(assets.scripts[2].js.size() / 2);
  write_audit_report_html(t / "audit.html", testing::full_audit(), assets);
  const Rendered r = testing::inspect(render(t, t / "audit.html"), "<path");
  EXPECT_FALSE(r.done);
  EXPECT_GE(r.problems, 1u);
  EXPECT_TRUE(r.charts_with_svg.empty());
  EXPECT_EQ(r.charts_without_svg.size(), 6u);
}

}  // namespace
}  // namespace scintigen::report
