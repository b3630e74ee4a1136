// The HTML page of `scintigen study`, without a browser: every section and the primary endpoint,
// escaping of text from the report, error entries shown as their text (never as numbers), the
// chart specifications (ids in page order, their data rows against the fixture's numbers, every
// spec valid under the Vega-Lite JSON schema with Python's jsonschema), and the InputError for a
// report that is not a complete study report. The JavaScript is a stub here;
// tests/report/study_report_browser_test.cc renders the real one.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/fs_util.h"
#include "report/page_test_util.h"
#include "report/report_fixtures.h"
#include "report/study_fixture.h"
#include "report/study_html.h"
#include "test_util.h"

namespace scintigen::report {
namespace {

using nlohmann::json;
using scintigen::testing::python;
using scintigen::testing::run_command;
using scintigen::testing::source_path;
using scintigen::testing::TempDir;
using testing::count_substrings;
using testing::embedded_charts;
using testing::fixture_arms;
using testing::stub_assets;
using testing::study_report;

// The stretch of the page from the element with id="id" to the next </section>.
std::string section_html(const std::string& html, const std::string& id) {
  const size_t at = html.find("id=\"" + id + "\"");
  EXPECT_NE(at, std::string::npos) << id;
  return at == std::string::npos ? "" : html.substr(at, html.find("</section>", at) - at);
}

// The row of a table that starts with <th>head</th> (or <th class="arm">head) in `html`.
std::string row_of(const std::string& html, const std::string& head) {
  size_t at = html.find("<th>" + head);
  if (at == std::string::npos) at = html.find("<th class=\"arm\">" + head);
  EXPECT_NE(at, std::string::npos) << head;
  return at == std::string::npos ? "" : html.substr(at, html.find("</tr>", at) - at);
}

json chart(const json& charts, const std::string& id) {
  for (const auto& c : charts)
    if (c["id"] == id) return c["spec"];
  ADD_FAILURE() << "no chart " << id;
  return json::object();
}

TEST(StudyReportHtml, EverySectionAndThePrimaryEndpoint) {
  const std::string html = study_report_html(study_report(), stub_assets());
  for (const char* id : {"summary", "design", "cohorts", "sites", "task-metastasis", "task-cardiac", "survival",
                         "subgroups", "audit", "provenance", "plot-problems"})
    EXPECT_NE(html.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  const std::string summary = section_html(html, "summary");
  EXPECT_NE(summary.find("<td>metastasis, <b>small+syn x2</b> against the baseline</td>"), std::string::npos);
  // Pooled gain 0.05 with the bootstrap CI [0.01, 0.09], met, alpha, fixed before the run.
  EXPECT_NE(summary.find("+0.050 <span class=\"ci\">(sd 0.010)</span><br><span class=\"ci\">[+0.010, +0.090]</span>"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("<span class=\"pass\">MET</span>"), std::string::npos);
  EXPECT_NE(summary.find("alpha 0.050"), std::string::npos);
  EXPECT_NE(summary.find("fixed in the config"), std::string::npos);
  EXPECT_NE(summary.find("<li>the generator was given by generator.model"), std::string::npos);
  json r = study_report();
  r["primary_endpoint"]["met"] = false;
  EXPECT_NE(study_report_html(r, stub_assets()).find("<span class=\"fail\">NOT MET</span>"), std::string::npos);

  const std::string design = section_html(html, "design");
  EXPECT_NE(
      row_of(design, "syn only x2").find("<td><b>not included</b></td><td>synthetic set g1</td><td>&times;2</td>"),
      std::string::npos);
  EXPECT_NE(row_of(design, "small+donor").find("the donor's real scans</td><td>–</td><td>upper bound"),
            std::string::npos);
  EXPECT_NE(row_of(design, "small+sim x2").find("fresh simulator scans of the donor profile"), std::string::npos);
  EXPECT_NE(design.find("2 small-centre draws &times; 1 classifier seeds = 2 repeats"), std::string::npos);
  // Cohorts: shares among known labels (ext_a: 1 of 60 Perugini >= 2; 30 women of 59 known).
  EXPECT_NE(row_of(design, "donor</th>")
                .find("<td>240</td><td>60 of 240 (25.0%)</td><td>24 of 240 (10.0%)</td><td>120 of 240 (50.0%)</td>"
                      "<td>DPD 40, MDP 200</td>"),
            std::string::npos)
      << row_of(design, "donor</th>");
  EXPECT_NE(row_of(design, "external ext_a").find("<td>1 of 60 (1.7%)</td><td>30 of 59 (50.8%)</td>"),
            std::string::npos);
  EXPECT_NE(row_of(design, "metastasis</th><td>ext_a").find("flagged: 14 positives and 46 negatives"),
            std::string::npos);

  const std::string task = section_html(html, "task-metastasis");
  // small+syn x2: AUC 0.75 [0.65, 0.85]; gain +0.050; relative +7.1%; share 62.5%; ext_a +0.060, p 0.200, Holm 0.800.
  const std::string x2 = row_of(task, "small+syn x2");
  EXPECT_NE(x2.find("<td>0.750 <span class=\"ci\">(sd 0.010)</span><br><span class=\"ci\">[0.650, 0.850]</span></td>"),
            std::string::npos)
      << x2;
  EXPECT_NE(x2.find("<td>+7.1% <span class=\"ci\">(sd 0.010)</span>"), std::string::npos) << x2;
  EXPECT_NE(x2.find("<td>+62.5%<br><span class=\"ci\">[+32.5%, +92.5%]</span></td>"), std::string::npos) << x2;
  EXPECT_NE(x2.find("<td>+0.060<br><span class=\"ci\">[-0.040, +0.160]</span><br><span class=\"ci\">p 0.200, Holm "
                    "0.800</span></td>"),
            std::string::npos)
      << x2;
  EXPECT_NE(task.find("Internal test"), std::string::npos);
  EXPECT_NE(
      row_of(task.substr(task.find("Internal test")), "small+syn x2").find("<td>0.650</td><td>0.050</td><td>2</td>"),
      std::string::npos);

  const std::string surv = section_html(html, "survival");
  EXPECT_NE(row_of(surv, "true label").find("3.900<br><span class=\"ci\">[2.500, 6.200]</span>"), std::string::npos);
  EXPECT_NE(row_of(surv, "small+syn x2")
                .find("<td>1.550 <span class=\"ci\">(sd 0.200)</span> <span "
                      "class=\"count\">2 fitted</span></td><td>0.650 <span class=\"ci\">(sd "
                      "0.030)</span></td>"),
            std::string::npos)
      << row_of(surv, "small+syn x2");

  const std::string sub = section_html(html, "subgroups");
  EXPECT_NE(row_of(sub, "women")
                .find("<td>AUC 0.700 <span class=\"ci\">(sd 0.040)</span><br>gain +0.050<br><span "
                      "class=\"ci\">[-0.150, +0.250]</span></td>"),
            std::string::npos)
      << row_of(sub, "women");

  const std::string audit = section_html(html, "audit");
  EXPECT_NE(row_of(audit, "g1</th><td>0")
                .find("<td>0.910<br><span class=\"ci\">[0.860, 0.950]</span></td><td>226.60 / "
                      "17.20</td><td>0.120</td><td>0.340</td><td>0.200</td><td>0 (0.000)</td>"
                      "<td>0.559</td>"),
            std::string::npos)
      << audit;
  EXPECT_NE(row_of(audit, "g1</th><td>c2st").find("<td class=\"fail\">FAIL</td>"), std::string::npos);
  EXPECT_NE(row_of(audit, "g1</th><td>membership").find("<td class=\"pass\">PASS</td>"), std::string::npos);

  const std::string prov = section_html(html, "provenance");
  EXPECT_NE(prov.find("<code>scintigen study --config configs/study/quick.json --out DIR</code>"), std::string::npos);
  EXPECT_NE(prov.find("<td><code>0123456789abcdef</code></td><td>60.2</td>"), std::string::npos) << prov;
  EXPECT_NE(prov.find("3 stages, 74 s in all"), std::string::npos);
  EXPECT_NE(prov.find("<pre class=\"config\">{\n  &quot;analysis&quot;"), std::string::npos);
  EXPECT_NE(prov.find("2026"), std::string::npos);
  EXPECT_NE(prov.find("<tr><th>versions</th><td>compiler gcc 12.2.0, scintigen 0.1.0</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("Versions: compiler gcc 12.2.0, scintigen 0.1.0"), std::string::npos);
  EXPECT_NE(html.find("<code>scintigen study</code>"), std::string::npos);
}

TEST(StudyReportHtml, EscapesTextFromTheReport) {
  const std::string html = study_report_html(study_report(), stub_assets());
  EXPECT_EQ(html.find("<b>bold"), std::string::npos);
  EXPECT_NE(html.find("<p>pilot &lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; &amp; co</p>"), std::string::npos);
  EXPECT_NE(html.find("<th>age&lt;50</th>"), std::string::npos);
  EXPECT_EQ(html.find("<th>age<50"), std::string::npos);
  // Only the six script elements: charts JSON, console capture, 3 libraries, embedding.
  EXPECT_EQ(count_substrings(html, "<script"), 6u);
  EXPECT_EQ(count_substrings(html, "</script"), 6u);
  // A hostile arm name reaches the charts' JSON unharmed and cannot end the element.
  json r = study_report();
  r["tasks"][0]["arms"][1]["arm"] = "</script><!--x";
  const std::string h2 = study_report_html(r, stub_assets());
  EXPECT_EQ(count_substrings(h2, "</script"), 6u);
  EXPECT_EQ(h2.find("<!--"), std::string::npos);
  EXPECT_NE(embedded_charts(h2).dump().find("\"arm\":\"</script><!--x\""), std::string::npos);
}

TEST(StudyReportHtml, ErrorEntriesShowTheirText) {
  const std::string html = study_report_html(study_report(), stub_assets());
  const std::string err = std::string("<span class=\"err\">");
  const std::string cardiac = section_html(html, "task-cardiac");
  // The one-class site: per arm its text in the site's column; the pooled statistics: their text
  // across the four pooled columns, never a number.
  // In the table once per arm, and under the forest plot once with the arms it hit.
  EXPECT_EQ(count_substrings(cardiac, err + testing::kSiteError + "</span>"), fixture_arms().size() + 1);
  EXPECT_NE(cardiac.find("Not drawn: ext_a (small+syn x1, small+syn x2, syn only x2, small+donor, small+sim x2): " +
                         err + testing::kSiteError),
            std::string::npos);
  EXPECT_NE(row_of(cardiac, "small+syn x2").find("<td colspan=\"4\">" + err + testing::kPooledError + "</span></td>"),
            std::string::npos);
  // The share of x1 is not estimable.
  const std::string task = section_html(html, "task-metastasis");
  EXPECT_NE(row_of(task, "small+syn x1").find("<td>" + err + html_escape(testing::kShareError) + "</span></td>"),
            std::string::npos)
      << row_of(task, "small+syn x1");
  // Survival and subgroup errors, an empty Kaplan-Meier group (under the chart), a null internal AUC.
  const std::string surv = section_html(html, "survival");
  EXPECT_NE(row_of(surv, "syn only x2")
                .find("<td>" + err + html_escape("no repeat's Cox model could be fitted") + "</span></td>"),
            std::string::npos);
  EXPECT_NE(surv.find("syn only x2, predicted positive: " + err + "no case in group predicted_positive</span>"),
            std::string::npos);
  EXPECT_EQ(count_substrings(section_html(html, "subgroups"), err + "1 positive and 3 negative cases"),
            2 * fixture_arms().size());
  EXPECT_NE(row_of(cardiac.substr(cardiac.find("Internal test")), "small").find("no internal-test AUC"),
            std::string::npos);
  // The primary endpoint's gain as an error entry.
  json r = study_report();
  r["primary_endpoint"]["pooled_gain"] = {{"error", "site x has no positives"}};
  r["primary_endpoint"].erase("met");
  const std::string summary = section_html(study_report_html(r, stub_assets()), "summary");
  EXPECT_NE(summary.find(err + "site x has no positives</span>"), std::string::npos);
  EXPECT_NE(summary.find("not decided"), std::string::npos);
}

TEST(StudyReportHtml, ChartsHoldTheFixturesNumbers) {
  const json r = study_report();
  const json charts = study_report_charts(r);
  std::vector<std::string> ids;
  for (const auto& c : charts) ids.push_back(c["id"].get<std::string>());
  EXPECT_EQ(ids, (std::vector<std::string>{"chart-forest-metastasis", "chart-multiple-metastasis",
                                           "chart-forest-cardiac", "chart-km-metastasis"}));
  EXPECT_EQ(embedded_charts(study_report_html(r, stub_assets())), charts);
  for (const auto& c : charts) EXPECT_EQ(c["spec"]["$schema"], "https://vega.github.io/schema/vega-lite/v5.json");

  // Forest: per non-baseline arm, ext_a (gain + 0.01), ext_d (gain - 0.01) and pooled; CIs from the
  // contrast (+/- 0.1) and the bootstrap (+/- 0.04).
  const json forest = chart(charts, "chart-forest-metastasis");
  const json& rows = forest["layer"][1]["data"]["values"];
  ASSERT_EQ(rows.size(), 3 * (fixture_arms().size() - 1));
  size_t k = 0;
  for (const auto& f : fixture_arms()) {
    if (std::string(f.name) == "small") continue;
    for (const auto& [site, shift, half] :
         {std::tuple<const char*, double, double>{"ext_a", 0.01, 0.1}, {"ext_d", -0.01, 0.1}, {"pooled", 0.0, 0.04}}) {
      const json& row = rows[k++];
      EXPECT_EQ(row["arm"], f.name);
      EXPECT_EQ(row["site"], site);
      EXPECT_NEAR(row["gain"].get<double>(), f.gain + shift, 1e-12);
      EXPECT_NEAR(row["lower"].get<double>(), f.gain + shift - half, 1e-12);
      EXPECT_NEAR(row["upper"].get<double>(), f.gain + shift + half, 1e-12);
    }
  }
  EXPECT_EQ(forest["layer"][2]["data"]["values"], rows);
  // Cardiac: ext_a and the pooled statistics are errors, so only ext_d is drawn; the errors are notes.
  const json cardiac = chart(charts, "chart-forest-cardiac")["layer"][1]["data"]["values"];
  ASSERT_EQ(cardiac.size(), fixture_arms().size() - 1);
  for (const auto& row : cardiac) EXPECT_EQ(row["site"], "ext_d");
  const std::string html = study_report_html(r, stub_assets());
  EXPECT_NE(html.find("Not drawn: pooled (small+syn x1, small+syn x2, syn only x2, small+donor, small+sim x2): <span "
                      "class=\"err\">" +
                      std::string(testing::kPooledError)),
            std::string::npos);

  // Gain against the multiple: x1 and x2 of set g1 and the simulator's x2, each line from the
  // baseline at 0; "syn only" (no small centre) and the donor arm (no multiple) are left out; the
  // upper arm's pooled gain as a rule.
  const json multiple = chart(charts, "chart-multiple-metastasis");
  std::vector<std::tuple<std::string, std::string, double, double>> got;
  for (const auto& row : multiple["layer"][0]["data"]["values"])
    got.emplace_back(row["set"], row["arm"], row["multiple"].get<double>(), row["gain"].get<double>());
  const std::vector<std::tuple<std::string, std::string, double, double>> want = {
      {"synthetic set g1", "small+syn x1", 1, 0.02},
      {"synthetic set g1", "small+syn x2", 2, 0.05},
      {"fresh simulator scans (donor)", "small+sim x2", 2, 0.06},
      {"fresh simulator scans (donor)", "small", 0, 0},
      {"synthetic set g1", "small", 0, 0}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(multiple["layer"][3]["data"]["values"][0]["gain"], 0.08);

  // Kaplan-Meier: per arm with curves, then the true label; each curve from (0, 1) then its rows.
  const json km = chart(charts, "chart-km-metastasis");
  json options = json::array();
  for (const auto& f : fixture_arms()) options.push_back(f.name);
  options.push_back("true label");
  EXPECT_EQ(km["params"][0]["bind"]["options"], options);
  EXPECT_EQ(km["params"][0]["value"], "small");
  const json& km_rows = km["data"]["values"];
  const json& arm_km = r["tasks"][0]["arms"][2]["survival"]["kaplan_meier"];
  std::vector<json> mine;
  for (const auto& row : km_rows)
    if (row["shown"] == "small+syn x2") mine.push_back(row);
  const size_t neg = arm_km["predicted_negative"]["curve"].size(), pos = arm_km["predicted_positive"]["curve"].size();
  ASSERT_EQ(mine.size(), neg + pos + 2);
  EXPECT_EQ(mine[0]["time"], 0);
  EXPECT_EQ(mine[0]["survival"], 1);
  for (size_t i = 0; i < neg; ++i) {
    EXPECT_EQ(mine[1 + i]["group"], "predicted negative");
    EXPECT_EQ(mine[1 + i]["time"], arm_km["predicted_negative"]["curve"][i]["time"]);
    EXPECT_EQ(mine[1 + i]["survival"], arm_km["predicted_negative"]["curve"][i]["estimate"]);
    EXPECT_EQ(mine[1 + i]["lower"], arm_km["predicted_negative"]["curve"][i]["ci"]["lower"]);
  }
  // The arm with an empty group has one curve; the true label two.
  size_t syn_only = 0, label = 0;
  for (const auto& row : km_rows) {
    syn_only += row["shown"] == "syn only x2";
    label += row["shown"] == "true label";
  }
  EXPECT_EQ(syn_only, neg + 1);
  EXPECT_EQ(label, r["tasks"][0]["survival"]["kaplan_meier"]["label_negative"]["curve"].size() +
                       r["tasks"][0]["survival"]["kaplan_meier"]["label_positive"]["curve"].size() + 2);
}

TEST(StudyReportHtml, ReportsWithoutSurvivalAuditOrKaplanMeier) {
  json r = study_report();
  r["tasks"][0].erase("survival");
  for (auto& a : r["tasks"][0]["arms"]) a.erase("survival");
  r["audit"] = json::object();
  r.erase("cohorts");
  r.erase("design_warnings");
  const std::string html = study_report_html(r, stub_assets());
  EXPECT_NE(html.find("No external site has outcomes"), std::string::npos);
  EXPECT_NE(html.find("No audit was run"), std::string::npos);
  EXPECT_EQ(html.find("id=\"cohorts\""), std::string::npos);
  EXPECT_EQ(html.find("Design warnings"), std::string::npos);
  EXPECT_EQ(study_report_charts(r).size(), 3u);
  // A report from before the Kaplan-Meier curves: the table, no chart.
  json old = study_report();
  old["tasks"][0]["survival"].erase("kaplan_meier");
  for (auto& a : old["tasks"][0]["arms"]) a["survival"].erase("kaplan_meier");
  EXPECT_NE(study_report_html(old, stub_assets()).find("No Kaplan-Meier curves in this report."), std::string::npos);
  EXPECT_EQ(study_report_charts(old).size(), 3u);
}

// Every chart validates against the Vega-Lite JSON schema of the pinned bundle.
TEST(StudyReportHtml, ChartsAreValidVegaLite) {
  const std::string schema = source_path("web/node_modules/vega-lite/build/vega-lite-schema.json");
  if (!std::filesystem::exists(schema)) GTEST_SKIP() << "web/node_modules missing (scripts/install-deps.sh)";
  std::string py;
  for (const std::string& candidate : {python(), std::string("python3")})
    if (py.empty() && run_command(candidate + " -c 'import jsonschema'").exit_code == 0) py = candidate;
  if (py.empty()) GTEST_SKIP() << "no Python with jsonschema";
  TempDir t;
  write_file_atomic(t / "charts.json", study_report_charts(study_report()).dump());
  const std::string script = R"(
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
validator = jsonschema.Draft7Validator(schema)
bad = 0
for c in json.load(open(sys.argv[2])):
    for e in validator.iter_errors(c["spec"]):
        bad += 1
        print(c["id"], "/".join(map(str, e.absolute_path)), e.message[:300])
sys.exit(1 if bad else 0)
)";
  write_file_atomic(t / "validate.py", script);
  const auto r = run_command(py + " " + (t / "validate.py") + " " + schema + " " + (t / "charts.json"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(StudyReportHtml, IncompleteReportIsAnInputError) {
  std::vector<std::pair<std::string, json>> broken;
  auto without = [&](const std::string& what, const json::json_pointer& p) {
    json r = study_report();
    r[p.parent_pointer()].erase(p.back());
    broken.push_back({what, r});
  };
  without("tasks", json::json_pointer("/tasks"));
  without("config", json::json_pointer("/study/config"));
  without("primary endpoint", json::json_pointer("/primary_endpoint"));
  without("pooled", json::json_pointer("/tasks/0/arms/1/pooled"));
  without("contrast", json::json_pointer("/tasks/0/arms/1/sites/0/contrast"));
  without("stages", json::json_pointer("/stages"));
  json wrong = study_report();
  wrong["format"] = "scintigen-audit";
  broken.push_back({"format", wrong});
  for (const auto& [what, r] : broken)
    for (int entry = 0; entry < 2; ++entry) {
      try {
        if (entry == 0)
          study_report_html(r, stub_assets());
        else
          study_report_charts(r);
        ADD_FAILURE() << what << " (entry " << entry << "): no error";
      } catch (const InputError& e) {
        EXPECT_EQ(e.where(), "study report") << what;
        EXPECT_NE(e.hint().find("report.json"), std::string::npos) << what;
      }
    }
  EXPECT_NE(scintigen::testing::input_error_reason([&] {
              study_report_html(wrong, stub_assets());
            }).find("not \"scintigen-study-report\""),
            std::string::npos);
}

TEST(StudyReportHtml, WritesThePageAtomically) {
  TempDir t;
  write_study_report_html(t / "report.html", study_report(), stub_assets());
  EXPECT_EQ(read_file(t / "report.html"), study_report_html(study_report(), stub_assets()));
}

}  // namespace
}  // namespace scintigen::report
