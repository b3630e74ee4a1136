// The statistics of a study (docs/STUDY.md, "Analysis"): pure functions of score tables, with
// no datasets, models or LibTorch. The runner (study/run.h) scores every classifier on the same
// cases and fills a TaskScores per task; this file turns them into the report's numbers.
//
//   TaskScores t = ...;                       // arms x repeats x sites x cases
//   nlohmann::json j = analyse_task(t, cfg);  // per site, pooled, survival, subgroups
//   apply_holm({&j_metastasis, &j_cardiac});  // Holm across sites and tasks, per arm
//
// Terms:
//   arm       one training recipe ("small", "small+syn x5", "small+donor"...); arms[0] of a
//             TaskScores is the baseline every gain subtracts.
//   repeat    one (small-cohort draw, classifier seed) pair; every arm has every repeat, and
//             repeat r of two arms shares the small-centre draw, so gains are paired by repeat.
//   site      an evaluation cohort; its cases are the same for every arm and repeat, so gains
//             are also paired by case.
// Statistics (fixed here, before any study ran):
//   - AUC per (arm, repeat, site) with a DeLong CI on the logit scale (Pepe 2003, sec. 5.2.4):
//     a Wald CI clipped at 1 collapses near AUC 1; the logit one stays inside (0, 1).
//   - Gain = AUC(arm) - AUC(baseline), relative gain = gain / AUC(baseline) (the published
//     study's "+33%" statistic), each as mean and sd over repeats, per site and pooled (mean
//     over sites).
//   - Per site, the paired DeLong test of each repeat, and one test of the mean gain over
//     repeats: the DeLong contrast (DeLong et al. 1988, the general L theta form) of the 2R AUCs
//     on the same cases, weights +1/R for the arm's and -1/R for the baseline's. It treats the
//     trained classifiers as fixed (the variance is the cases'); the bootstrap below adds the
//     repeats' variance.
//   - Pooled over sites: a hierarchical percentile bootstrap, three levels in this order:
//     sites with replacement, then within each drawn site its cases with replacement,
//     stratified by class (the same case indices for every arm and repeat: paired), then
//     repeats with replacement (the same repeat indices for every arm: paired; drawn once per
//     replicate, as repeat r is the same classifiers at every site). Statistic: the mean over
//     drawn sites of the mean over drawn repeats of the gain (and likewise of the AUC and the
//     relative gain). Replicates are drawn from stream_rng(seed, kStudyBootstrap, replicate).
//   - Share of the real-data gain recovered (with an `upper` arm): (pooled gain of the arm) /
//     (pooled gain of the upper arm), with a CI from the same bootstrap replicates (the ratio
//     per replicate); reported as not estimable when the upper arm's pooled gain CI covers 0.
//   - Holm's step-down correction (Holm 1979) of the per-site contrast p-values, one family per
//     arm across all sites and tasks (apply_holm).
//   - Sites with fewer than min_positives positives (or negatives) are flagged.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace scintigen::study {

// One evaluation cohort: its cases, the same for every arm and repeat.
struct SiteCases {
  std::string site;
  std::vector<std::string> ids;
  std::vector<int> labels;  // the task's 0/1 label of each case
  // Survival (all empty when the cohort has no outcomes): days, 1 = event; age in years,
  // male 1 / 0. A missing value is NaN (time, age) or -1 (event, male); a case missing any of
  // them is left out of the survival analysis.
  std::vector<double> time;
  std::vector<int> event;
  std::vector<double> age;
  std::vector<int> male;
  // Subgroup name -> membership of each case (1 = in the subgroup).
  std::map<std::string, std::vector<char>> subgroups;
};

struct TaskScores {
  std::string task;                  // metastasis | cardiac
  std::vector<std::string> arms;     // arms[0] = the baseline
  std::vector<std::string> repeats;  // names, e.g. "draw 1, seed 2"
  std::vector<SiteCases> sites;      // the external sites (the pooled analysis is over these)
  // scores[arm][repeat][site][case]: the classifier's probability of each case.
  std::vector<std::vector<std::vector<std::vector<double>>>> scores;
  // thresholds[arm][repeat]: the classifier's operating threshold (chosen on validation); a
  // case is predicted positive when score >= threshold (the survival analysis's groups).
  std::vector<std::vector<double>> thresholds;
  // Checks the shapes and labels; throws InputError naming the task, arm, repeat or site.
  void validate() const;
};

struct AnalysisConfig {
  std::string upper;     // the arm whose gain is "the real-data gain" ("" = no share)
  int bootstrap = 2000;  // replicates of the hierarchical bootstrap
  uint64_t seed = 0;     // its stream (kStudyBootstrap)
  double conf_level = 0.95;
  int min_positives = 20;  // a site with fewer positives or negatives is flagged
  void validate() const;   // throws ConfigError naming the field
  nlohmann::json to_json() const;
};

// The task's analysis (docs/STUDY.md gives the JSON's schema): sites, then per arm the per-site
// AUCs, gains and tests, the pooled gains with bootstrap CIs and the share recovered, survival
// (per repeat: Cox hazard ratio of the predicted-positive group adjusted for age and sex on all
// sites' cases, and Harrell's C of the score; their mean and sd; beside them the true label's
// hazard ratio, the best achievable) and subgroups (per subgroup: per-repeat AUC on the cases
// of all sites in it, mean and sd, and the contrast against the baseline). The baseline arm's
// entry has no gains or tests.
nlohmann::json analyse_task(const TaskScores& scores, const AnalysisConfig& config);

// Adds "p_holm" beside every per-site contrast p-value of every non-baseline arm: Holm's
// correction over the family of that arm's per-site p-values across all the given tasks.
void apply_holm(const std::vector<nlohmann::json*>& tasks);

}  // namespace scintigen::study
