// The HTML page of `scintigen audit`, without a browser: verdicts with their rules, escaping of
// hostile paths and ids, the closest-pair sheet as a data: URI (decoded by Python's base64), the
// chart specifications (ids, data counts, the memorisation histograms against NumPy, every spec
// valid under the Vega-Lite JSON schema with Python's jsonschema), skipped sections and null
// numbers, and the InputError for an incomplete report. The JavaScript is a stub here;
// tests/report/audit_report_browser_test.cc renders the real one.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/fs_util.h"
#include "report/audit_fixture.h"
#include "report/audit_html.h"
#include "report/page_test_util.h"
#include "report/report_fixtures.h"
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
using testing::full_audit;
using testing::skipped_audit;
using testing::stub_assets;

// The row of the summary table for `section`.
std::string summary_row(const std::string& html, const std::string& section) {
  const size_t at = html.find("<tr><th><a href=\"#" + section + "\">");
  EXPECT_NE(at, std::string::npos) << section;
  return at == std::string::npos ? "" : html.substr(at, html.find("</tr>", at) - at);
}

// The stretch of the page from <h2 id="section"> to the next </section>.
std::string section_html(const std::string& html, const std::string& section) {
  const size_t at = html.find("<h2 id=\"" + section + "\">");
  EXPECT_NE(at, std::string::npos) << section;
  return at == std::string::npos ? "" : html.substr(at, html.find("</section>", at) - at);
}

TEST(AuditReportHtml, SummaryShowsEveryVerdictWithItsRule) {
  const json a = full_audit();
  const std::string html = audit_report_html(a, stub_assets());
  for (const auto& [name, s] : a["sections"].items()) {
    const std::string row = summary_row(html, name);
    const json& v = s["verdict"];
    EXPECT_NE(row.find(html_escape(v["text"].get<std::string>())), std::string::npos) << name << ": " << row;
    EXPECT_NE(row.find("Rule: " + html_escape(v["rule"].get<std::string>())), std::string::npos) << name << ": " << row;
    EXPECT_NE(row.find(v["pass"].get<bool>() ? ">PASS<" : ">FAIL<"), std::string::npos) << row;
  }
  // A passing verdict shows PASS.
  json b = full_audit();
  b["sections"]["c2st"]["verdict"]["pass"] = true;
  EXPECT_NE(summary_row(audit_report_html(b, stub_assets()), "c2st").find("<td class=\"pass\">PASS</td>"),
            std::string::npos);
  // The rules' comparison signs are escaped, not dropped.
  EXPECT_NE(html.find("Rule: AUC &lt;= 0.55 or its CI covers 0.5"), std::string::npos);
  // The encoder's SHA-256 beside every feature-space section, and in the inputs.
  for (const char* s : {"fidelity", "c2st", "label_fidelity", "memorisation", "membership"})
    EXPECT_NE(section_html(html, s).find(std::string("SHA-256 <code>") + testing::kEncoderSha), std::string::npos) << s;
  EXPECT_EQ(count_substrings(html, testing::kEncoderSha), 6u);
  EXPECT_EQ(section_html(html, "image_stats").find(testing::kEncoderSha), std::string::npos);
}

TEST(AuditReportHtml, TablesShowEstimatesWithIntervals) {
  const std::string html = audit_report_html(full_audit(), stub_assets());
  const std::string fid = section_html(html, "fidelity");
  // Overall FD 12.5 [10.25, 14.75], baseline (scale 0.5) and matched (1.2); precision 0.71 [0.64, 0.78].
  EXPECT_NE(fid.find("<tr><th>synthetic vs all real</th><td>60 / 80</td><td>12.5<br><span class=\"ci\">[10.25, "
                     "14.75]</span></td><td>0.012<br><span class=\"ci\">[0.008, 0.016]</span></td><td>0.710<br><span "
                     "class=\"ci\">[0.640, 0.780]</span></td>"),
            std::string::npos)
      << fid;
  EXPECT_NE(fid.find("<tr><th>real-vs-real baseline (half B vs A)</th><td>30 / 30</td><td>6.25<br><span "
                     "class=\"ci\">[5.125, 7.375]</span>"),
            std::string::npos);
  EXPECT_NE(fid.find("<tr><th>matched (synthetic subsample vs half A)</th><td>30 / 30</td><td>15<br>"),
            std::string::npos);
  // Per condition: a row with its baseline, one whose baseline is an error, an error row.
  EXPECT_NE(fid.find("<span class=\"err\">fewer than 6 scans in a half</span>"), std::string::npos);
  EXPECT_NE(fid.find("<tr><th>tracer=PYP</th><td>3 / 4</td><td colspan=\"6\"><span class=\"err\">fewer than 20 "
                     "scans on a side</span></td></tr>"),
            std::string::npos);
  // Image statistics: KS, W1/sd beside the baseline's, the differing statistic marked.
  const std::string img = section_html(html, "image_stats");
  EXPECT_NE(img.find("<tr class=\"differ\"><th>high_frequency_ratio</th>"), std::string::npos);
  EXPECT_NE(img.find("<tr><th>total_counts</th><td>1.2e+06<br><span class=\"ci\">sd 1.2e+05</span></td>"),
            std::string::npos)
      << img;
  EXPECT_NE(img.find("<td>0.300</td><td>0.200</td><td>0.300<br><span class=\"ci\">[0.250, 0.400]</span></td><td>"
                     "0.100<br><span class=\"ci\">[0.050, 0.200]</span></td><td>0.200</td>"),
            std::string::npos);
  // Label fidelity: real CV, synthetic and TSTR AUCs, the DeLong difference and p.
  const std::string lab = section_html(html, "label_fidelity");
  EXPECT_NE(lab.find("<tr><th>perugini_ge2</th><td>20 / 40</td><td>30 / 50</td><td>0.850<br><span class=\"ci\">"
                     "[0.750, 0.950]</span></td><td>0.600<br><span class=\"ci\">[0.500, 0.700]</span></td><td>0.780"
                     "<br><span class=\"ci\">[0.660, 0.900]</span></td><td>0.250</td><td>&lt; 0.001</td><td "
                     "class=\"fail\">FAIL</td></tr>"),
            std::string::npos)
      << lab;
  EXPECT_NE(lab.find("too few labelled scans"), std::string::npos);
  // Memorisation: flagged counts, the calibration check, thresholds per space.
  const std::string mem = section_html(html, "memorisation");
  EXPECT_NE(mem.find("Flagged as copies: <b>1</b> synthetic scans (fraction 1 of 80, 0.013 [0.002, 0.067])"),
            std::string::npos)
      << mem;
  EXPECT_NE(mem.find("Check of the fit: 0 of 60, 0.000 [0.000, 0.060] held-out real scans"), std::string::npos);
  EXPECT_NE(mem.find("<tr><th>pixel</th><td>0.012</td><td>0 / 0.03</td><td>1</td>"), std::string::npos);
  EXPECT_NE(mem.find("1 synthetic scans at distance 0 (exact copies)"), std::string::npos);
  // C2ST and membership AUCs with their CIs.
  EXPECT_NE(section_html(html, "c2st").find("AUC <b>0.612<br><span class=\"ci\">[0.560, 0.664]</span></b>"),
            std::string::npos);
  EXPECT_NE(section_html(html, "membership")
                .find("<tr><th>generator attack (denoising loss)</th><td>0.580<br><span class=\"ci\">[0.520, "
                      "0.640]</span></td><td>60 / 60</td>"),
            std::string::npos);
  EXPECT_NE(html.find("torch.libtorch 2.1.2"), std::string::npos);
  EXPECT_NE(html.find("<code>scintigen audit</code>"), std::string::npos);
}

TEST(AuditReportHtml, EscapesUserTextInPageAndScripts) {
  const std::string html = audit_report_html(full_audit(), stub_assets());
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("<b>7"), std::string::npos);
  EXPECT_NE(html.find("<title>scintigen audit: syn/&lt;script&gt;alert(1)&lt;/script&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("<h1>Synthetic data audit: syn/&lt;script&gt;alert(1)&lt;/script&gt;</h1>"), std::string::npos);
  EXPECT_NE(html.find("<td>scan&lt;b&gt;7&lt;/b&gt;</td>"), std::string::npos);
  // Only the six script elements: charts JSON, console capture, 3 libraries, embedding.
  EXPECT_EQ(count_substrings(html, "<script"), 6u);
  EXPECT_EQ(count_substrings(html, "</script"), 6u);
  // A hostile label name reaches the charts' JSON unharmed and cannot end the element.
  json a = full_audit();
  a["sections"]["memorisation"]["spaces"]["</script><!--x"] = a["sections"]["memorisation"]["spaces"]["pixel"];
  const std::string h2 = audit_report_html(a, stub_assets());
  EXPECT_EQ(count_substrings(h2, "</script"), 6u);
  EXPECT_EQ(h2.find("<!--"), std::string::npos);
  EXPECT_NE(embedded_charts(h2).dump().find("Nearest training scan, </script><!--x space"), std::string::npos);
  EXPECT_NE(h2.find("id=\"chart-memorisation---script-----x\""), std::string::npos);
}

// Python's base64 decodes the page's data: URI back to the file's bytes (lengths 0, 1, 2 mod 3).
TEST(AuditReportHtml, EmbedsTheSheetAsDataUri) {
  TempDir t;
  for (size_t size : {999u, 1000u, 1001u}) {
    std::string bytes(size, '\0');
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 7919u + (i >> 3)) & 0xff);
    const std::string png = t / "sheet.png";
    { std::ofstream(png, std::ios::binary) << bytes; }
    const std::string html = audit_report_html(full_audit(), stub_assets(), png);
    const std::string prefix = "src=\"data:image/png;base64,";
    const size_t at = html.find(prefix);
    ASSERT_NE(at, std::string::npos);
    const size_t begin = at + prefix.size();
    const std::string b64 = html.substr(begin, html.find('"', begin) - begin);
    write_file_atomic(t / "b64.txt", b64);
    const auto r = run_command(python() +
                               " -c \"import base64,sys; open(sys.argv[2], 'wb').write(base64.b64decode("
                               "open(sys.argv[1]).read(), validate=True))\" " +
                               (t / "b64.txt") + " " + (t / "decoded.bin"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(read_file(t / "decoded.bin"), bytes) << "size " << size;
    EXPECT_EQ(b64.size(), (size + 2) / 3 * 4);
  }
  // No file, or no path: no image, and the page says so.
  for (const std::string& none : {std::string(""), t / "missing.png"}) {
    const std::string html = audit_report_html(full_audit(), stub_assets(), none);
    EXPECT_EQ(html.find("data:image/png"), std::string::npos);
    EXPECT_NE(html.find("No closest-pair sheet was written."), std::string::npos);
  }
}

// The data of layer `layer` (or of the spec when it has none).
const json& layer_values(const json& spec, size_t layer) {
  return spec.contains("layer") && spec["layer"][layer].contains("data") ? spec["layer"][layer]["data"]["values"]
                                                                         : spec["data"]["values"];
}

TEST(AuditReportHtml, ChartsInPageOrderWithTheirData) {
  const json a = full_audit();
  const std::string html = audit_report_html(a, stub_assets());
  const json charts = audit_report_charts(a);
  EXPECT_EQ(embedded_charts(html), charts);
  std::vector<std::string> ids;
  for (const auto& c : charts) {
    ids.push_back(c.at("id").get<std::string>());
    EXPECT_EQ(c.at("spec").at("$schema"), "https://vega.github.io/schema/vega-lite/v5.json");
    EXPECT_NE(html.find("<div class=\"chart\" id=\"" + ids.back() + "\">"), std::string::npos);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"chart-fidelity-prdc", "chart-image-stats-histogram", "chart-c2st-roc",
                                           "chart-memorisation-encoder", "chart-memorisation-pixel",
                                           "chart-membership-roc"}));
  // Dot plot: 3 comparisons x 4 metrics, with the fixture's numbers.
  const json& prdc = charts[0]["spec"]["data"]["values"];
  ASSERT_EQ(prdc.size(), 12u);
  EXPECT_EQ(prdc[0], (json{{"metric", "precision"},
                           {"comparison", "synthetic vs all real"},
                           {"estimate", 0.71},
                           {"lower", 0.64},
                           {"upper", 0.78}}));
  // Histograms: 40 bins per set, centred between the edges (log scale).
  const json& hist = charts[1]["spec"]["data"]["values"];
  ASSERT_EQ(hist.size(), 80u);
  EXPECT_NEAR(hist[0]["relative"].get<double>(), std::pow(10.0, -1.95), 1e-12);
  EXPECT_EQ(charts[1]["spec"]["encoding"]["x"]["scale"]["type"], "log");
  // ROC curves: every point.
  EXPECT_EQ(layer_values(charts[2]["spec"], 1).size(), 17u);
  EXPECT_EQ(layer_values(charts[5]["spec"], 1).size(), 13u + 9u);
  // Memorisation: kDistanceBins bins per set, then the threshold rule.
  for (size_t i : {3u, 4u}) {
    EXPECT_EQ(layer_values(charts[i]["spec"], 0).size(), 2u * kDistanceBins);
    EXPECT_EQ(layer_values(charts[i]["spec"], 1).size(), 1u);
    EXPECT_EQ(charts[i]["spec"]["layer"][1]["mark"]["type"], "rule");
  }
  EXPECT_EQ(layer_values(charts[4]["spec"], 1)[0]["lower"], 0.012);
}

// The memorisation histograms against numpy.histogram of log10(distance) on the same range (the
// distance of 0 counted in the first bin), as fractions of each set.
TEST(AuditReportHtml, DistanceHistogramsMatchNumpy) {
  const json a = full_audit();
  const json charts = audit_report_charts(a);
  TempDir t;
  for (const auto& [space, index] : {std::pair<std::string, size_t>{"encoder", 3}, {"pixel", 4}}) {
    const json& sp = a["sections"]["memorisation"]["spaces"][space];
    write_file_atomic(t / "in.json", json{{"syn", sp["distances"]["synthetic"]},
                                          {"held", sp["distances"]["heldout"]},
                                          {"threshold", sp["threshold"]},
                                          {"bins", kDistanceBins}}
                                         .dump());
    const std::string script = R"(
import json, sys, numpy as np
a = json.load(open(sys.argv[1]))
pos = np.array([d for d in a["syn"] + a["held"] if d > 0] + [a["threshold"]])
lo, hi = np.log10(pos.min()), np.log10(pos.max())
out = {}
for k in ("syn", "held"):
    d = np.array(a[k], dtype=float)
    x = np.log10(np.where(d > 0, d, pos.min()))
    h, e = np.histogram(x, bins=a["bins"], range=(lo, hi))
    out[k] = {"fraction": (h / len(d)).tolist(), "lower": (10 ** e[:-1]).tolist(), "upper": (10 ** e[1:]).tolist()}
json.dump(out, open(sys.argv[2], "w"))
)";
    write_file_atomic(t / "hist.py", script);
    const auto r = run_command(python() + " " + (t / "hist.py") + " " + (t / "in.json") + " " + (t / "out.json"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const json ref = json::parse(read_file(t / "out.json"));
    const json& rows = layer_values(charts[index]["spec"], 0);
    ASSERT_EQ(rows.size(), 2u * kDistanceBins);
    for (size_t s = 0; s < 2; ++s) {
      const json& want = ref[s ? "held" : "syn"];
      EXPECT_EQ(rows[s * kDistanceBins]["set"], s ? "held-out real (n 30)" : "synthetic (n 40)");
      double total = 0;
      for (int k = 0; k < kDistanceBins; ++k) {
        const json& row = rows[s * kDistanceBins + k];
        EXPECT_NEAR(row["fraction"].get<double>(), want["fraction"][k].get<double>(), 1e-12) << space << " bin " << k;
        EXPECT_NEAR(row["lower"].get<double>(), want["lower"][k].get<double>(), 1e-9 * want["lower"][k].get<double>());
        EXPECT_NEAR(row["upper"].get<double>(), want["upper"][k].get<double>(), 1e-9 * want["upper"][k].get<double>());
        total += row["fraction"].get<double>();
      }
      EXPECT_NEAR(total, 1.0, 1e-12);
    }
  }
}

// Every chart of both fixtures validates against the Vega-Lite JSON schema of the pinned bundle.
TEST(AuditReportHtml, ChartsAreValidVegaLite) {
  const std::string schema = source_path("web/node_modules/vega-lite/build/vega-lite-schema.json");
  if (!std::filesystem::exists(schema)) GTEST_SKIP() << "web/node_modules missing (scripts/install-deps.sh)";
  // Debian's python3 (SCINTIGEN_PYTHON) may lack jsonschema (python3-jsonschema); then try the one on PATH.
  std::string py;
  for (const std::string& candidate : {python(), std::string("python3")})
    if (py.empty() && run_command(candidate + " -c 'import jsonschema'").exit_code == 0) py = candidate;
  if (py.empty()) GTEST_SKIP() << "no Python with jsonschema";
  TempDir t;
  json specs = json::array();
  for (const json& a : {full_audit(), skipped_audit()})
    for (const auto& c : audit_report_charts(a)) specs.push_back(c);
  write_file_atomic(t / "charts.json", specs.dump());
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

TEST(AuditReportHtml, SkippedSectionsAndNullNumbers) {
  const json a = skipped_audit();
  const std::string html = audit_report_html(a, stub_assets());
  EXPECT_NE(summary_row(html, "c2st").find("<td class=\"skipped\">skipped</td><td>--skip</td>"), std::string::npos);
  EXPECT_NE(summary_row(html, "membership").find("<td>no --train</td>"), std::string::npos);
  EXPECT_NE(section_html(html, "memorisation").find("Skipped: no --train."), std::string::npos);
  EXPECT_NE(html.find("<tr><th>generator training set</th><td class=\"muted\">not given</td></tr>"), std::string::npos);
  std::vector<std::string> ids;
  for (const auto& c : audit_report_charts(a)) ids.push_back(c["id"].get<std::string>());
  EXPECT_EQ(ids, (std::vector<std::string>{"chart-fidelity-prdc", "chart-image-stats-histogram"}));
  // Null numbers: "n/a"; a null interval: the estimate alone.
  const std::string fid = section_html(html, "fidelity");
  EXPECT_NE(fid.find("<tr><th>real-vs-real baseline (half B vs A)</th><td>30 / 30</td><td>6.25</td>"),
            std::string::npos);
  EXPECT_NE(fid.find("<tr><th>metastasis=0</th><td>35 / 45</td><td>n/a<br><span class=\"ci\">["), std::string::npos)
      << fid;
  const std::string img = section_html(html, "image_stats");
  size_t row = img.find("<tr><th>bone_soft_ratio</th>");
  ASSERT_NE(row, std::string::npos);
  EXPECT_NE(img.substr(row, img.find("</tr>", row) - row).find("<td>n/a</td><td>0.100<br>"), std::string::npos);
  row = img.find("<tr><th>body_length_rows</th>");
  ASSERT_NE(row, std::string::npos);
  EXPECT_NE(img.substr(row, img.find("</tr>", row) - row).find("<td>0.300</td><td>n/a</td>"), std::string::npos);
  EXPECT_NE(section_html(html, "label_fidelity").find("<td>0.780</td>"), std::string::npos);
  // The null estimate of the dot plot is kept as null (the plot filters it).
  json b = full_audit();
  b["sections"]["fidelity"]["overall"]["recall"] = {{"estimate", nullptr}, {"ci", nullptr}};
  const json charts = audit_report_charts(b);
  const json& rows = charts[0]["spec"]["data"]["values"];
  EXPECT_TRUE(rows[1]["estimate"].is_null());
  EXPECT_TRUE(rows[1]["lower"].is_null());
}

// A report without a field the page shows raises InputError("audit report", ...), from both
// entry points.
TEST(AuditReportHtml, IncompleteReportIsAnInputError) {
  std::vector<std::pair<std::string, json>> broken;
  auto without = [&](const std::string& what, const json::json_pointer& p) {
    json a = full_audit();
    a[p.parent_pointer()].erase(p.back());
    broken.push_back({what, a});
  };
  without("verdict rule", json::json_pointer("/sections/fidelity/verdict/rule"));
  without("section", json::json_pointer("/sections/c2st"));
  without("matched block", json::json_pointer("/sections/fidelity/matched"));
  without("per-condition FD", json::json_pointer("/sections/fidelity/per_condition/0/metrics/frechet"));
  without("space threshold", json::json_pointer("/sections/memorisation/spaces/pixel/threshold"));
  without("histogram edges", json::json_pointer("/sections/image_stats/comparison/histogram_edges"));
  without("ROC", json::json_pointer("/sections/membership/distance_attack/roc"));
  without("encoder", json::json_pointer("/sections/label_fidelity/encoder"));
  without("inputs", json::json_pointer("/inputs"));
  json wrong = full_audit();
  wrong["format"] = "scintigen-classify-eval";
  broken.push_back({"format", wrong});
  for (const auto& [what, a] : broken) {
    for (int entry = 0; entry < 2; ++entry) {
      try {
        if (entry == 0)
          audit_report_html(a, stub_assets());
        else
          audit_report_charts(a);
        ADD_FAILURE() << what << " (entry " << entry << "): no error";
      } catch (const InputError& e) {
        EXPECT_EQ(e.where(), "audit report") << what;
        EXPECT_NE(e.hint().find("audit.json"), std::string::npos) << what;
      }
    }
  }
  EXPECT_NE(scintigen::testing::input_error_reason([&] {
              audit_report_html(wrong, stub_assets());
            }).find("not \"scintigen-audit\""),
            std::string::npos);
  EXPECT_EQ(scintigen::testing::input_error_reason([] { audit_report_html(full_audit(), stub_assets()); }), "no error");
}

}  // namespace
}  // namespace scintigen::report
