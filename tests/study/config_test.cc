// The study config (strict parsing, validation with exact texts), subgroups, derived seeds, and
// the plan: which stage hashes a changed setting changes (the --resume contract: only what
// depends on a setting reruns). Nothing is run.
#include "study/config.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/error.h"
#include "core/fs_util.h"
#include "study/run.h"
#include "study/subgroup.h"
#include "test_util.h"

namespace scintigen::study {
namespace {

using nlohmann::json;
using scintigen::testing::source_path;

json quick_json() {
  return json::parse(read_file(source_path("configs/study/quick.json")));
}

StudyConfig parse(const json& j) {
  StudyConfig c = StudyConfig::from_json(j, "s.json");
  c.resolve_paths(source_path("configs/study"));
  c.validate("s.json");
  return c;
}

// The ConfigError text `f` throws, or "no error".
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.describe();
  }
  return "no error";
}

std::string config_error(const json& j) {
  return error_of([&] { parse(j); });
}

// label -> hash of every stage of the plan.
std::map<std::string, std::string> plan_of(const json& j) {
  RunOptions o;
  o.out = "/nonexistent/study";
  std::map<std::string, std::string> m;
  for (const auto& s : plan_study(parse(j), o)) m[s.kind + " " + s.label] = s.hash;
  return m;
}

// The labels whose hash differs between two plans (every label is in both).
std::set<std::string> changed(const std::map<std::string, std::string>& a,
                              const std::map<std::string, std::string>& b) {
  std::set<std::string> out;
  for (const auto& [label, hash] : a) {
    EXPECT_TRUE(b.count(label)) << label;
    if (b.count(label) && b.at(label) != hash) out.insert(label);
  }
  EXPECT_EQ(a.size(), b.size());
  return out;
}

bool starts(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

TEST(StudyConfig, ShippedConfigsLoadAndRoundTrip) {
  for (const char* name : {"configs/study/quick.json", "configs/study/pilot.json", "configs/study/headroom.json",
                           "configs/study/headroom100.json", "configs/study/paper.json"}) {
    const StudyConfig c = StudyConfig::load(source_path(name));
    EXPECT_EQ(c.arms[0].name, "small") << name;
    // to_json -> from_json gives the same settings.
    StudyConfig again = StudyConfig::from_json(c.to_json(), name);
    EXPECT_EQ(again.to_json(), c.to_json()) << name;
  }
  const StudyConfig q = StudyConfig::load(source_path("configs/study/quick.json"));
  EXPECT_EQ(q.generator.preset, source_path("configs/gen/tiny64.json"));  // relative to the config's folder
}

TEST(StudyConfig, BadConfigsAreRefusedWithExactTexts) {
  json j = quick_json();
  j["colour"] = "red";
  EXPECT_EQ(config_error(j),
            "s.json: the top level: unknown key 'colour' (hint: see docs/STUDY.md (\"The config\") for the keys)");
  j = quick_json();
  j["classifier"]["epoch"] = 3;
  EXPECT_EQ(config_error(j),
            "s.json: classifier: unknown key 'epoch' (hint: see docs/STUDY.md (\"The config\") for the keys)");
  j = quick_json();
  j["seeds"] = "five";
  EXPECT_EQ(config_error(j), "s.json: seeds: expected a number, found string");
  j = quick_json();
  j["seeds"] = 2.5;
  EXPECT_EQ(config_error(j), "s.json: seeds: expected an integer, found number");
  j = quick_json();
  j["arms"][0] = {{"name", "first"}, {"synthetic", "g1"}, {"multiple", 1}};
  EXPECT_EQ(config_error(j),
            "s.json: arms[0] 'first': the first arm is the baseline and must be the small centre alone");
  j = quick_json();
  j["arms"][1]["synthetic"] = "g9";
  EXPECT_EQ(config_error(j), "s.json: arms[1] 'small+syn x1': no synthetic set is named 'g9'");
  j = quick_json();
  j["arms"][1]["donor"] = true;
  EXPECT_EQ(config_error(j), "s.json: arms[1] 'small+syn x1': give at most one of synthetic, simulate and donor");
  j = quick_json();
  j["primary_endpoint"].erase("arm");
  EXPECT_EQ(config_error(j),
            "s.json: primary_endpoint.arm: '' is not a non-baseline arm of the study (hint: fix the primary endpoint "
            "before the run: it is the claim the study tests)");
  j = quick_json();
  j["subgroups"][0]["where"] = "shoe=9";
  EXPECT_EQ(config_error(j),
            "s.json: subgroup 'women': 'shoe' is not a label field (hint: use a field of docs/DATASET.md's label "
            "table, e.g. sex, age, tracer, cardiac_grade)");
  j = quick_json();
  j["cohorts"]["donor"]["dataset"] = "somewhere";
  EXPECT_EQ(config_error(j),
            "s.json: cohorts.donor: give exactly one of 'site' (a simulator profile) and 'dataset' (a folder)");
  j = quick_json();
  j["cohorts"].erase("external");
  EXPECT_EQ(config_error(j), "s.json: cohorts.external: give at least one external site");
}

TEST(StudyConfig, SubgroupsSelectByLabel) {
  Labels woman, man;
  woman.sex = "F";
  woman.age = 45;
  woman.tracer = "DPD";
  man.sex = "M";
  man.age = 50;
  EXPECT_TRUE(parse_subgroup("w", "sex=F").contains(woman));
  EXPECT_FALSE(parse_subgroup("w", "sex=F").contains(man));
  EXPECT_TRUE(parse_subgroup("y", "age<50").contains(woman));
  EXPECT_FALSE(parse_subgroup("y", "age<50").contains(man));  // 50 is not < 50
  EXPECT_TRUE(parse_subgroup("o", "age>=50").contains(man));
  EXPECT_TRUE(parse_subgroup("d", "tracer=DPD").contains(woman));
  EXPECT_FALSE(parse_subgroup("d", "tracer=DPD").contains(man));   // unset: in no subgroup of the field
  EXPECT_FALSE(parse_subgroup("d", "tracer!=DPD").contains(man));  // unset again
  EXPECT_TRUE(parse_subgroup("n", "tracer!=MDP").contains(woman));
  EXPECT_THROW(parse_subgroup("b", "sex<3"), ConfigError);
  EXPECT_THROW(parse_subgroup("b", "sex=Q"), InputError);  // not a value sex can hold
  EXPECT_THROW(parse_subgroup("b", "sex"), ConfigError);
}

TEST(StudyConfig, DerivedSeedsAreFixedAndDistinct) {
  // Pinned: changing the derivation changes every study's results.
  EXPECT_EQ(derived_seed(2026, "donor"), derived_seed(2026, "donor"));
  EXPECT_NE(derived_seed(2026, "donor"), derived_seed(2026, "external ext_a"));
  EXPECT_NE(derived_seed(2026, "donor"), derived_seed(2027, "donor"));
  std::set<uint64_t> seeds;
  for (int d = 1; d <= 10; ++d)
    for (int s = 1; s <= 10; ++s)
      seeds.insert(derived_seed(7, "classifier draw " + std::to_string(d) + " seed " + std::to_string(s)));
  EXPECT_EQ(seeds.size(), 100u);
}

TEST(StudyPlan, QuickPlanHasEveryStageOnce) {
  const auto plan = plan_of(quick_json());
  std::map<std::string, int> kinds;
  std::set<std::string> hashes;
  for (const auto& [label, hash] : plan) {
    ++kinds[label.substr(0, label.find(' '))];
    hashes.insert(hash);
  }
  EXPECT_EQ(hashes.size(), plan.size());  // no two stages share a folder
  // 2 tasks x 6 arms x 2 draws x 1 seed.
  EXPECT_EQ(kinds["classifier"], 24);
  EXPECT_EQ(kinds["evaluation"], 24);
  EXPECT_EQ(kinds["generator"], 1);
  EXPECT_EQ(kinds["synthetic"], 1);
  EXPECT_EQ(kinds["audit"], 1);
  EXPECT_EQ(kinds["encoder"], 1);
  EXPECT_EQ(kinds["subset"], 1);  // the first 60 of g1's 120 scans (x1 and the audit); x2 is the whole set
  // donor, 2 external, 2 draws x 3 parts, the control's extra scans, audit real, encoder scans.
  EXPECT_EQ(kinds["cohort"], 12);
}

TEST(StudyPlan, AChangedSettingChangesOnlyTheStagesThatDependOnIt) {
  const json base = quick_json();
  const auto before = plan_of(base);

  // The classifier recipe: every classifier and evaluation, nothing upstream.
  json j = base;
  j["classifier"]["epochs"] = 5;
  for (const auto& label : changed(before, plan_of(j)))
    EXPECT_TRUE(starts(label, "classifier ") || starts(label, "evaluation ")) << label;
  EXPECT_EQ(changed(before, plan_of(j)).size(), 48u);

  // The generator: it, the synthetic set, its subsets, the audit, and the synthetic arms'
  // classifiers and evaluations; not the cohorts, the encoder, or the other arms.
  j = base;
  j["generator"]["steps"] = 61;
  const auto gen_changed = changed(before, plan_of(j));
  for (const auto& label : gen_changed) {
    const bool syn_arm = label.find("syn") != std::string::npos;
    EXPECT_TRUE(starts(label, "generator") || starts(label, "synthetic ") || starts(label, "subset ") ||
                starts(label, "audit ") || ((starts(label, "classifier ") || starts(label, "evaluation ")) && syn_arm))
        << label;
  }
  for (const char* arm : {"small ", "small+donor ", "small+sim x2 "})
    for (const char* task : {"metastasis", "cardiac"})
      EXPECT_FALSE(gen_changed.count(std::string("classifier classifier ") + task + " " + arm + "draw 1 seed 1"))
          << arm;
  EXPECT_TRUE(gen_changed.count("generator generator"));
  EXPECT_TRUE(gen_changed.count("classifier classifier metastasis small+syn x2 draw 2 seed 1"));
  // The generator, the set, one subset (its first 60 scans: the audit's and the x1 arm's, one
  // stage), the audit, and 3 synthetic arms x 2 tasks x 2 draws classifiers and evaluations.
  EXPECT_EQ(gen_changed.size(), 1u + 1 + 1 + 1 + 2 * (3 * 2 * 2));

  // An external site's size: that cohort and every evaluation, no classifier.
  j = base;
  j["cohorts"]["external"]["ext_a"]["n"] = 121;
  for (const auto& label : changed(before, plan_of(j)))
    EXPECT_TRUE(label == "cohort external ext_a" || starts(label, "evaluation ")) << label;
  EXPECT_EQ(changed(before, plan_of(j)).size(), 1u + 24);

  // Threads are not part of any hash; the analysis settings are not stages.
  j = base;
  j["analysis"]["bootstrap"] = 500;
  EXPECT_TRUE(changed(before, plan_of(j)).empty());
}

// A synthetic set's condition the generator cannot take is refused when the plan is made,
// before anything is written, not hours later when its stage is reached.
TEST(StudyPlan, ASyntheticConditionTheGeneratorCannotTakeIsRefusedAtPlanTime) {
  auto plan_error = [](const json& j) { return error_of([&] { plan_of(j); }); };
  json j = quick_json();
  j["synthetic"][0]["condition"] = "sex=X";
  EXPECT_EQ(
      plan_error(j),
      "study config: synthetic 'g1'.condition: value 'X' is not allowed for sex (hint: allowed values of sex: M, F)");
  j = quick_json();
  j["synthetic"][0]["mix"] = {{"metastasis=1", 0.5}, {"tumour=1", 0.5}};
  EXPECT_EQ(plan_error(j),
            "study config: synthetic 'g1'.mix: unknown condition 'tumour' (hint: allowed conditions: metastasis, "
            "cardiac_grade, tracer, sex, age_band)");
  j = quick_json();
  j["synthetic"][0]["condition"] = "tracer=DPD,sex=F";
  EXPECT_EQ(plan_error(j), "no error");
}

// configs/study/pilot.json is a subset of paper.json, not another experiment: every stage the
// two share that does not depend on the synthetic set's size (paper's g1 set is 4,000 scans for
// x10, the pilot's 2,000 for x5) has the same hash, so the same inputs, seed and result.
TEST(StudyPlan, PilotSharesThePaperDesignsStages) {
  const auto pilot = plan_of(json::parse(read_file(source_path("configs/study/pilot.json"))));
  const auto paper = plan_of(json::parse(read_file(source_path("configs/study/paper.json"))));
  size_t same = 0;
  for (const auto& [label, hash] : pilot) {
    ASSERT_TRUE(paper.count(label)) << label;  // every pilot stage is a stage of the paper design
    const bool on_synthetic = label.find("syn ") != std::string::npos || starts(label, "synthetic ") ||
                              starts(label, "subset ") || starts(label, "audit ");
    if (on_synthetic) continue;
    EXPECT_EQ(paper.at(label), hash) << label;
    ++same;
  }
  // Cohorts, generator, encoder, and the small, donor and simulator arms' 3 draws x 2 tasks
  // classifiers and evaluations.
  EXPECT_GE(same, 1u + 1 + 3 * 3 * 2 * 2);
}

}  // namespace
}  // namespace scintigen::study
