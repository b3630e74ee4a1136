// `scintigen stats`: outputs on small files, and every malformed input failing with exit 2 and
// an `error: <file>:<line>: ...` message.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "stats/schema_check.h"
#include "test_util.h"

namespace scintigen {
namespace {

using testing::run_command;
using testing::schema_errors;
using testing::scheme_errors;
using testing::scintigen_binary;
using testing::TempDir;

std::string write(const TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir / name;
  std::ofstream(path) << text;
  return path;
}

const char* kScores =
    "id,label,score,other\na,0,0.1,0.3\nb,0,0.4,0.2\nc,1,0.35,0.5\nd,1,0.8,0.6\ne,1,0.9,0.1\nf,0,0.2,0.7\n";

TEST(StatsCli, AucJson) {
  TempDir dir;
  const std::string f = write(dir, "s.csv", kScores);
  const auto r = run_command(scintigen_binary() + " stats auc --scores " + f + " --threshold 0.5 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(schema_errors(j, "stats_auc"), "");
  EXPECT_EQ(scheme_errors(j), "");
  EXPECT_DOUBLE_EQ(j["auc"]["estimate"].get<double>(), 8.0 / 9.0);
  EXPECT_EQ(j["auc"]["positives"], 3);
  EXPECT_EQ(j["auc"]["ci"]["method"], "delong");
  EXPECT_EQ(j["auc"]["ci"]["level"], 0.95);
  EXPECT_EQ(j["threshold"]["tp"], 2);
  EXPECT_EQ(j["youden"]["threshold"], 0.8);
  EXPECT_EQ(j["threshold"]["ppv"]["trials"], 2);
}

TEST(StatsCli, AucTextBootstrapIsReproducibleAndRocIsWritten) {
  TempDir dir;
  const std::string f = write(dir, "s.csv", kScores);
  const std::string cmd =
      scintigen_binary() + " stats auc --scores " + f + " --bootstrap 300 --seed 5 --roc " + (dir / "roc.csv");
  const auto a = run_command(cmd), b = run_command(cmd);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  EXPECT_EQ(a.output, b.output);
  EXPECT_NE(a.output.find("AUC 0.8889  95% CI"), std::string::npos) << a.output;
  EXPECT_NE(a.output.find("300 stratified replicates, seed 5"), std::string::npos) << a.output;
  std::ifstream roc(dir / "roc.csv");
  std::string header;
  std::getline(roc, header);
  EXPECT_EQ(header, "threshold,fpr,tpr,tp,fp");
}

TEST(StatsCli, ComparePairedAndUnpaired) {
  TempDir dir;
  const std::string f = write(dir, "s.csv", kScores);
  auto r = run_command(scintigen_binary() + " stats compare --scores " + f + " --score-cols score,other --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(schema_errors(j, "stats_compare"), "");
  EXPECT_EQ(j["test"]["paired"], true);
  EXPECT_EQ(j["auc2"]["name"], "other");
  EXPECT_TRUE(j["test"].contains("p_value"));
  r = run_command(scintigen_binary() + " stats compare --scores " + f + " --scores2 " + f + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  j = nlohmann::json::parse(r.output);
  EXPECT_EQ(schema_errors(j, "stats_compare"), "");
  EXPECT_EQ(scheme_errors(j), "");
  EXPECT_EQ(j["test"]["paired"], false);
  EXPECT_EQ(j["test"]["p_value"], 1.0);  // the same cohort twice
  r = run_command(scintigen_binary() + " stats compare --scores " + f);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("give either --score-cols A,B (paired) or --scores2 FILE (unpaired)"), std::string::npos);
}

TEST(StatsCli, SurvivalAndAgreement) {
  TempDir dir;
  const std::string s = write(
      dir, "surv.csv", "time,event,arm\n1,1,neg\n2,0,neg\n3,1,neg\n4,1,neg\n1.5,1,pos\n2,1,pos\n2.5,0,pos\n3,1,pos\n");
  auto r = run_command(scintigen_binary() + " stats survival --data " + s + " --group-col arm --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(schema_errors(j, "stats_survival"), "");
  EXPECT_EQ(scheme_errors(j), "");
  EXPECT_EQ(j["groups"].size(), 2u);
  EXPECT_EQ(j["log_rank"]["df"], 1);
  EXPECT_EQ(j["cox"]["terms"][0]["name"], "arm=pos");
  const std::string a = write(dir, "agree.csv", "id,r1,r2,r3,truth\n1,a,a,a,a\n2,b,b,a,b\n3,a,b,b,b\n4,b,b,b,b\n");
  r = run_command(scintigen_binary() + " stats agreement --ratings " + a + " --id-col id --truth truth --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  j = nlohmann::json::parse(r.output);
  EXPECT_EQ(schema_errors(j, "stats_agreement"), "");
  EXPECT_EQ(scheme_errors(j), "");
  EXPECT_EQ(j["raters"], nlohmann::json({"r1", "r2", "r3"}));
  EXPECT_EQ(j["cohen"].size(), 3u);
  EXPECT_EQ(j["accuracy"][1]["successes"], 4);
  EXPECT_EQ(j["percent_agreement"]["successes"], 2);
}

struct BadInput {
  const char* name;
  const char* args;  // {} is the file
  const char* csv;
  const char* message;
};

class StatsCliBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(StatsCliBadInput, ExitsTwoWithAClearError) {
  const BadInput& b = GetParam();
  TempDir dir;
  const std::string f = write(dir, "in.csv", b.csv);
  std::string args = b.args;
  args.replace(args.find("{}"), 2, f);
  const auto r = run_command(scintigen_binary() + " stats " + args);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  std::string want = b.message;
  if (want.find("{}") != std::string::npos) want.replace(want.find("{}"), 2, f);
  EXPECT_NE(r.output.find(want), std::string::npos) << r.output;
}

INSTANTIATE_TEST_SUITE_P(
    Files, StatsCliBadInput,
    ::testing::Values(
        BadInput{"nan_score", "auc --scores {}", "label,score\n0,0.1\n1,nan\n",
                 "error: {}:3: column 'score' holds 'nan', not a finite number"},
        BadInput{"empty_score", "auc --scores {}", "label,score\n0,0.1\n1,\n", "error: {}:3: column 'score' holds ''"},
        BadInput{"label_2", "auc --scores {}", "label,score\n0,0.1\n2,0.3\n",
                 "error: {}:3: column 'label' holds '2', not 0 or 1"},
        BadInput{"one_class", "auc --scores {}", "label,score\n1,0.1\n1,0.3\n",
                 "error: {}: only one class: all 2 cases are positive (label 1)"},
        BadInput{"ragged", "auc --scores {}", "label,score\n0,0.1,7\n", "error: {}:2: 3 cells, the header has 2"},
        BadInput{"no_column", "auc --scores {} --score-col p", "label,score\n0,0.1\n",
                 "error: {}: no column 'p' (hint: the columns are label, score; choose one with --score-col)"},
        BadInput{"header_only", "auc --scores {}", "label,score\n", "error: {}: no data rows below the header"},
        BadInput{"negative_time", "survival --data {}", "time,event\n1,1\n-2,0\n",
                 "error: {}:3: column 'time' holds negative time -2"},
        BadInput{"event_2", "survival --data {}", "time,event\n1,1\n2,2\n",
                 "error: {}:3: column 'event' holds '2', not 0 or 1"},
        BadInput{"one_rater", "agreement --ratings {}", "r1\na\nb\n", "error: {}: fewer than 2 raters (1)"},
        BadInput{"missing_rating", "agreement --ratings {}", "r1,r2\na,\n", "error: {}:2: rater 'r2' gave no rating"},
        BadInput{"bad_conf", "auc --scores {} --conf 2", "label,score\n0,0.1\n1,0.2\n",
                 "error: confidence level: must lie strictly between 0 and 1"}),
    [](const ::testing::TestParamInfo<BadInput>& i) { return std::string(i.param.name); });

TEST(StatsCli, MissingFileIsBadInput) {
  const auto r = run_command(scintigen_binary() + " stats auc --scores /nonexistent/x.csv");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("error: /nonexistent/x.csv"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace scintigen
