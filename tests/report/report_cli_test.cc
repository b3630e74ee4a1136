// `classify eval` writes the HTML summary beside the JSON report: --html, --no-html, and a
// missing plotting library (exit 1, the JSON kept).
#include <gtest/gtest.h>

#include <filesystem>

#include "core/fs_util.h"
#include "report/eval_fixture.h"
#include "test_util.h"

namespace scintigen::report {
namespace {

using scintigen::testing::TempDir;
using testing::run_eval;

namespace fs = std::filesystem;

TEST(ReportCli, HtmlBesideTheJsonReport) {
  TempDir t;
  ASSERT_NO_FATAL_FAILURE(testing::train_tiny_classifiers(t));

  auto r = run_eval(t, "--out " + (t / "r.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("summary: " + (t / "r.html")), std::string::npos) << r.output;
  const std::string html = read_file(t / "r.html");
  EXPECT_NE(html.find("<h1>Classifier evaluation: metastasis</h1>"), std::string::npos);
  EXPECT_NE(html.find("<th>AUC compare</th>"), std::string::npos);
  EXPECT_NE(html.find("id=\"chart-0-survival\""), std::string::npos);

  r = run_eval(t, "--out " + (t / "s.json") + " --html " + (t / "summary.htm"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(t / "summary.htm"));
  EXPECT_FALSE(fs::exists(t / "s.html"));

  r = run_eval(t, "--out " + (t / "n.json") + " --no-html");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(t / "n.json"));
  EXPECT_FALSE(fs::exists(t / "n.html"));
  EXPECT_EQ(r.output.find("summary:"), std::string::npos) << r.output;
}

TEST(ReportCli, MissingPlottingLibraryKeepsTheJson) {
  TempDir t;
  ASSERT_NO_FATAL_FAILURE(testing::train_tiny_classifiers(t));
  auto r = scintigen::testing::run_command(
      "SCINTIGEN_WEB_DIR=" + (t / "web") + " " + scintigen::testing::scintigen_binary() + " classify eval --model " +
      (t / "clf") + " --data " + (t / "data") + " --quiet --out " + (t / "m.json"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("error: " + (t / "web/node_modules/vega/package.json") +
                          ": missing: the HTML report inlines it (hint: run scripts/install-deps.sh (npm ci in web/))"),
            std::string::npos)
      << r.output;
  EXPECT_TRUE(fs::exists(t / "m.json"));
  EXPECT_FALSE(fs::exists(t / "m.html"));
}

TEST(ReportCli, BadHtmlFlags) {
  TempDir t;
  auto r = run_eval(t, "--out " + (t / "r.html"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("error: --html: is the report JSON path " + (t / "r.html") +
                          " (hint: pass another --html path, or --no-html)"),
            std::string::npos)
      << r.output;
  r = run_eval(t, "--out " + (t / "r.json") + " --no-html --html " + (t / "x.html"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("error: scintigen classify eval: --html excludes --no-html"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace scintigen::report
