#include "study/analysis.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <set>

#include "core/error.h"
#include "core/random_streams.h"
#include "stats/json.h"
#include "stats/multiplicity.h"
#include "stats/roc.h"
#include "stats/survival.h"

namespace scintigen::study {

using nlohmann::json;

namespace {

constexpr const char* kBootstrapMethod = "hierarchical percentile bootstrap";

// Runs a statistic; an InputError (one class, too few cases, a Cox fit that fails) becomes
// {"error": reason} in its place, never a number (as clf/eval.cc does).
template <typename F>
json try_stat(F&& f) {
  try {
    return f();
  } catch (const InputError& e) {
    return {{"error", e.reason()}};
  }
}

double mean_of(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return v.empty() ? std::nan("") : s / static_cast<double>(v.size());
}

// Sample SD (n - 1); NaN (null in JSON) for fewer than 2 values.
double sd_of(const std::vector<double>& v) {
  if (v.size() < 2) return std::nan("");
  const double m = mean_of(v);
  double s = 0.0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

// {"estimate": mean, "sd", "repeats": [one value per repeat]}
json over_repeats(const std::vector<double>& per_repeat) {
  json values = json::array();
  for (double v : per_repeat) values.push_back(stats::json_number(v));
  return {{"estimate", stats::json_number(mean_of(per_repeat))},
          {"sd", stats::json_number(sd_of(per_repeat))},
          {"repeats", values}};
}

// An AUC with its DeLong SE and the logit-scale CI (the form of stats::to_json(AucResult)).
json auc_json(const std::vector<int>& labels, const std::vector<double>& scores, double conf_level,
              const std::string& where) {
  return try_stat([&] {
    const stats::AucResult a = stats::delong_auc(labels, scores, conf_level, where);
    const stats::AucInterval ci = stats::delong_logit_ci(a, conf_level);
    json j = stats::to_json(a);
    j["ci"] = stats::interval_json(conf_level, ci.lower, ci.upper, "delong logit");
    return j;
  });
}

// The DeLong contrast of an arm's R repeats against the baseline's R repeats on the same cases:
// weights +1/R and -1/R, i.e. the mean gain over repeats.
json contrast_json(const std::vector<int>& labels, const std::vector<std::vector<double>>& arm,
                   const std::vector<std::vector<double>>& baseline, double conf_level, const std::string& where) {
  return try_stat([&] {
    const size_t r = arm.size();
    std::vector<std::vector<double>> scores(arm);
    scores.insert(scores.end(), baseline.begin(), baseline.end());
    std::vector<double> w(2 * r, 1.0 / static_cast<double>(r));
    for (size_t k = r; k < 2 * r; ++k) w[k] = -w[k];
    const stats::DelongContrast c = stats::delong_contrast(labels, scores, w, conf_level, where);
    return json{{"method", "DeLong contrast z test (mean gain over repeats)"},
                {"repeats", r},
                {"estimate", c.estimate},
                {"se", stats::json_number(c.se)},
                {"statistic", stats::json_number(c.z)},
                {"p_value", stats::json_number(c.p_value)},
                {"ci", stats::interval_json(conf_level, c.ci_lower, c.ci_upper, "delong")}};
  });
}

size_t count_positives(const std::vector<int>& labels) {
  return static_cast<size_t>(std::count(labels.begin(), labels.end(), 1));
}

std::string too_few_cases(size_t positives, size_t negatives) {
  return fmt::format("{} positive and {} negative cases: the DeLong statistics need at least 2 of each", positives,
                     negatives);
}

bool missing_outcome(const SiteCases& s, size_t i) {
  return !std::isfinite(s.time[i]) || s.event[i] < 0 || !std::isfinite(s.age[i]) || s.male[i] < 0;
}

// Kaplan-Meier curves of the cases split by a 0/1 grouping: {"<prefix>_negative": KM,
// "<prefix>_positive": KM} (stats::to_json), an empty group as {"error": reason}.
json km_groups(const stats::SurvivalData& surv, const std::vector<double>& group, const std::string& prefix,
               double conf_level, const std::string& where) {
  stats::SurvivalData by[2];
  for (size_t k = 0; k < surv.time.size(); ++k) {
    const int g = group[k] > 0.0 ? 1 : 0;
    by[g].time.push_back(surv.time[k]);
    by[g].event.push_back(surv.event[k]);
  }
  json out = json::object();
  const char* names[2] = {"negative", "positive"};
  for (int g = 0; g < 2; ++g) {
    const std::string key = prefix + "_" + names[g];
    out[key] = by[g].time.empty() ? json{{"error", "no case in group " + key}} : try_stat([&] {
      return stats::to_json(stats::kaplan_meier(by[g], conf_level, where + ", " + key));
    });
  }
  return out;
}

// ---- The hierarchical bootstrap ----------------------------------------------------------------

// One (arm, repeat, site)'s cases in ascending score order: case index, label, and whether a tie
// group ends after the position. A replicate's AUC is then one pass with bootstrap counts.
struct SortedScores {
  std::vector<uint32_t> index;
  std::vector<uint8_t> positive, group_end;
};

SortedScores sort_scores(const std::vector<int>& labels, const std::vector<double>& scores) {
  SortedScores s;
  s.index.resize(scores.size());
  std::iota(s.index.begin(), s.index.end(), 0u);
  std::sort(s.index.begin(), s.index.end(), [&](uint32_t a, uint32_t b) { return scores[a] < scores[b]; });
  s.positive.resize(scores.size());
  s.group_end.resize(scores.size());
  for (size_t k = 0; k < scores.size(); ++k) {
    s.positive[k] = static_cast<uint8_t>(labels[s.index[k]] == 1);
    s.group_end[k] = static_cast<uint8_t>(k + 1 == scores.size() || scores[s.index[k + 1]] != scores[s.index[k]]);
  }
  return s;
}

// The Mann-Whitney AUC of the cases drawn `count[i]` times each (ties 1/2), exact in integers;
// m and n are the drawn positives and negatives.
double weighted_auc(const SortedScores& s, const std::vector<uint32_t>& count, uint64_t m, uint64_t n) {
  uint64_t below = 0, twice_u = 0, pos = 0, neg = 0;
  const size_t size = s.index.size();
  for (size_t k = 0; k < size; ++k) {
    const uint64_t c = count[s.index[k]];
    if (s.positive[k])
      pos += c;
    else
      neg += c;
    if (s.group_end[k]) {
      twice_u += pos * (2 * below + neg);
      below += neg;
      pos = neg = 0;
    }
  }
  return static_cast<double>(twice_u) / (2.0 * static_cast<double>(m) * static_cast<double>(n));
}

// Replicates of the pooled statistics, per arm: the mean over drawn sites of the mean over drawn
// repeats of the AUC, of the gain and of the relative gain.
struct BootstrapReplicates {
  std::vector<std::vector<double>> auc, gain, relative;  // [arm][replicate]
};

// Ref: the hierarchical (multi-stage) bootstrap: A. C. Davison, D. V. Hinkley, Bootstrap Methods
//      and their Application, Cambridge 1997, sec. 3.8 (resampling at every stage).
// Replicate b draws from stream_rng(seed, kStudyBootstrap, b), in this order: S site indices
// (rng.below(S) each); then, for each drawn site in turn, its positives and then its negatives
// with replacement (rng.below(class size) each); then R repeat indices (rng.below(R) each). The
// case and repeat draws are shared by every arm (paired). Repeats are crossed with sites (repeat
// r is one set of trained classifiers scored at every site), so they are drawn once per replicate.
BootstrapReplicates hierarchical_bootstrap(const TaskScores& t, const AnalysisConfig& cfg) {
  const size_t arms = t.arms.size(), repeats = t.repeats.size(), sites = t.sites.size();
  std::vector<std::vector<uint32_t>> pos_idx(sites), neg_idx(sites);
  for (size_t s = 0; s < sites; ++s)
    for (size_t i = 0; i < t.sites[s].labels.size(); ++i)
      (t.sites[s].labels[i] ? pos_idx[s] : neg_idx[s]).push_back(static_cast<uint32_t>(i));
  std::vector<SortedScores> sorted(arms * repeats * sites);  // [arm][repeat][site]
  for (size_t a = 0; a < arms; ++a)
    for (size_t r = 0; r < repeats; ++r)
      for (size_t s = 0; s < sites; ++s)
        sorted[(a * repeats + r) * sites + s] = sort_scores(t.sites[s].labels, t.scores[a][r][s]);

  BootstrapReplicates out;
  const size_t replicates = static_cast<size_t>(cfg.bootstrap);
  out.auc.assign(arms, std::vector<double>(replicates));
  out.gain = out.relative = out.auc;
  std::vector<size_t> drawn_site(sites);
  std::vector<std::vector<uint32_t>> count(sites);
  std::vector<uint32_t> repeat_count(repeats);
  std::vector<double> auc(arms * repeats);
  std::vector<double> sum_auc(arms), sum_gain(arms), sum_rel(arms);
  for (size_t b = 0; b < replicates; ++b) {
    Rng rng = stream_rng(cfg.seed, RandomStream::kStudyBootstrap, b);
    for (size_t k = 0; k < sites; ++k) drawn_site[k] = rng.below(sites);
    for (size_t k = 0; k < sites; ++k) {
      const size_t s = drawn_site[k];
      count[k].assign(t.sites[s].labels.size(), 0);
      for (const auto* cls : {&pos_idx[s], &neg_idx[s]})
        for (size_t i = 0; i < cls->size(); ++i) ++count[k][(*cls)[rng.below(cls->size())]];
    }
    std::fill(repeat_count.begin(), repeat_count.end(), 0);
    for (size_t j = 0; j < repeats; ++j) ++repeat_count[rng.below(repeats)];

    std::fill(sum_auc.begin(), sum_auc.end(), 0.0);
    std::fill(sum_gain.begin(), sum_gain.end(), 0.0);
    std::fill(sum_rel.begin(), sum_rel.end(), 0.0);
    for (size_t k = 0; k < sites; ++k) {
      const size_t s = drawn_site[k];
      const uint64_t m = pos_idx[s].size(), n = neg_idx[s].size();
      for (size_t r = 0; r < repeats; ++r) {
        if (!repeat_count[r]) continue;
        for (size_t a = 0; a < arms; ++a)
          auc[a * repeats + r] = weighted_auc(sorted[(a * repeats + r) * sites + s], count[k], m, n);
        const double times = repeat_count[r], base = auc[r];
        for (size_t a = 0; a < arms; ++a) {
          const double gain = auc[a * repeats + r] - base;
          sum_auc[a] += times * auc[a * repeats + r];
          sum_gain[a] += times * gain;
          sum_rel[a] += times * (gain / base);
        }
      }
    }
    const double draws = static_cast<double>(sites * repeats);
    for (size_t a = 0; a < arms; ++a) {
      out.auc[a][b] = sum_auc[a] / draws;
      out.gain[a][b] = sum_gain[a] / draws;
      out.relative[a][b] = sum_rel[a] / draws;
    }
  }
  return out;
}

// The bootstrap's percentile CI (R's type-7 quantiles) and summary of one statistic's
// replicates: {"ci", "bootstrap": {replicates, seed, rng, mean, sd}}; an error when a replicate
// is not finite (e.g. a relative gain over a baseline AUC of 0).
json bootstrap_json(std::vector<double> reps, const AnalysisConfig& cfg) {
  for (double v : reps)
    if (!std::isfinite(v)) return {{"error", "a bootstrap replicate is not finite (a baseline AUC or gain of 0)"}};
  const double mean = mean_of(reps), sd = sd_of(reps);
  std::sort(reps.begin(), reps.end());
  const double alpha = 1.0 - cfg.conf_level;
  return {{"ci", stats::interval_json(cfg.conf_level, stats::quantile_type7(reps, alpha / 2.0),
                                      stats::quantile_type7(reps, 1.0 - alpha / 2.0), kBootstrapMethod)},
          {"bootstrap",
           {{"replicates", reps.size()},
            {"seed", cfg.seed},
            {"rng", "xoshiro256** (kStudyBootstrap)"},
            {"mean", stats::json_number(mean)},
            {"sd", stats::json_number(sd)}}}};
}

// over_repeats() of the per-repeat values plus the bootstrap CI.
json pooled_json(const std::vector<double>& per_repeat, const std::vector<double>& reps, const AnalysisConfig& cfg) {
  json j = over_repeats(per_repeat);
  j.update(bootstrap_json(reps, cfg));
  return j;
}

}  // namespace

// ---- Validation ----------------------------------------------------------------------------------

void TaskScores::validate() const {
  const std::string where = "task " + (task.empty() ? std::string("(unnamed)") : task);
  if (task.empty()) throw InputError(where, "the task has no name", "name it, e.g. metastasis or cardiac");
  if (arms.empty()) throw InputError(where, "no arms", "give at least the baseline arm");
  std::set<std::string> seen;
  for (const auto& a : arms)
    if (!seen.insert(a).second) throw InputError(where, "arm '" + a + "' appears twice", "arm names must be unique");
  if (repeats.empty()) throw InputError(where, "no repeats", "give at least one repeat");
  if (sites.empty()) throw InputError(where, "no sites", "give at least one evaluation site");
  seen.clear();
  for (const auto& s : sites) {
    const std::string at = where + ", site " + s.site;
    if (!seen.insert(s.site).second)
      throw InputError(where, "site '" + s.site + "' appears twice", "site names must be unique");
    const size_t n = s.ids.size();
    if (n == 0) throw InputError(at, "no cases", "an evaluation site needs cases");
    if (s.labels.size() != n)
      throw InputError(at, fmt::format("{} ids but {} labels", n, s.labels.size()), "give one label per case");
    for (size_t i = 0; i < n; ++i)
      if (s.labels[i] != 0 && s.labels[i] != 1)
        throw InputError(at, fmt::format("case {} has label {}", s.ids[i], s.labels[i]),
                         "labels must be 1 (positive) or 0 (negative)");
    const bool has_survival = !s.time.empty() || !s.event.empty() || !s.age.empty() || !s.male.empty();
    if (has_survival) {
      if (s.time.size() != n || s.event.size() != n || s.age.size() != n || s.male.size() != n)
        throw InputError(at,
                         fmt::format("survival columns of {} times, {} events, {} ages, {} sexes for {} cases",
                                     s.time.size(), s.event.size(), s.age.size(), s.male.size(), n),
                         "give time, event, age and male for every case, or none of them");
      for (size_t i = 0; i < n; ++i) {
        if (s.time[i] < 0.0 || std::isinf(s.time[i]))
          throw InputError(at, fmt::format("case {} has time {}", s.ids[i], s.time[i]),
                           "times are days >= 0 (NaN when missing)");
        if (std::isinf(s.age[i]))
          throw InputError(at, fmt::format("case {} has age {}", s.ids[i], s.age[i]),
                           "ages are years (NaN when missing)");
        if (s.event[i] < -1 || s.event[i] > 1 || s.male[i] < -1 || s.male[i] > 1)
          throw InputError(at, fmt::format("case {} has event {} and male {}", s.ids[i], s.event[i], s.male[i]),
                           "event and male are 1, 0, or -1 when missing");
      }
    }
    for (const auto& [name, member] : s.subgroups) {
      if (member.size() != n)
        throw InputError(at, fmt::format("subgroup '{}' has {} memberships for {} cases", name, member.size(), n),
                         "give one membership per case");
      for (size_t i = 0; i < n; ++i)
        if (member[i] != 0 && member[i] != 1)
          throw InputError(at, fmt::format("subgroup '{}': case {} has membership {}", name, s.ids[i], int(member[i])),
                           "memberships are 1 (in the subgroup) or 0");
    }
  }
  if (scores.size() != arms.size())
    throw InputError(where, fmt::format("scores for {} arms but the task has {} arms", scores.size(), arms.size()),
                     "give scores[arm][repeat][site][case]");
  if (thresholds.size() != arms.size())
    throw InputError(where,
                     fmt::format("thresholds for {} arms but the task has {} arms", thresholds.size(), arms.size()),
                     "give thresholds[arm][repeat]");
  for (size_t a = 0; a < arms.size(); ++a) {
    const std::string at_arm = where + ", arm " + arms[a];
    if (scores[a].size() != repeats.size())
      throw InputError(at_arm,
                       fmt::format("scores for {} repeats but the task has {}", scores[a].size(), repeats.size()),
                       "every arm needs every repeat");
    if (thresholds[a].size() != repeats.size())
      throw InputError(
          at_arm, fmt::format("thresholds for {} repeats but the task has {}", thresholds[a].size(), repeats.size()),
          "every arm needs every repeat");
    for (size_t r = 0; r < repeats.size(); ++r) {
      const std::string at_rep = at_arm + ", repeat " + repeats[r];
      if (!std::isfinite(thresholds[a][r]))
        throw InputError(at_rep, fmt::format("threshold is {}", thresholds[a][r]), "thresholds must be finite numbers");
      if (scores[a][r].size() != sites.size())
        throw InputError(at_rep,
                         fmt::format("scores for {} sites but the task has {}", scores[a][r].size(), sites.size()),
                         "every repeat needs every site");
      for (size_t s = 0; s < sites.size(); ++s) {
        const auto& v = scores[a][r][s];
        const std::string at = at_rep + ", site " + sites[s].site;
        if (v.size() != sites[s].ids.size())
          throw InputError(at, fmt::format("{} scores for {} cases", v.size(), sites[s].ids.size()),
                           "score every case of the site");
        for (size_t i = 0; i < v.size(); ++i)
          if (!std::isfinite(v[i]))
            throw InputError(at, fmt::format("case {} has score {}", sites[s].ids[i], v[i]),
                             "scores must be finite numbers");
      }
    }
  }
}

void AnalysisConfig::validate() const {
  if (bootstrap < 100 || bootstrap > 100000)
    throw ConfigError("analysis.bootstrap", fmt::format("{} is not in 100..100000", bootstrap),
                      "use e.g. 2000 replicates");
  if (!(conf_level > 0.5 && conf_level < 1.0))
    throw ConfigError("analysis.conf_level", fmt::format("{} is not in (0.5, 1)", conf_level), "use e.g. 0.95");
  if (min_positives < 2)
    throw ConfigError("analysis.min_positives", fmt::format("{} is below 2", min_positives), "use e.g. 20");
}

json AnalysisConfig::to_json() const {
  return {{"upper", upper},
          {"bootstrap", bootstrap},
          {"seed", seed},
          {"conf_level", conf_level},
          {"min_positives", min_positives}};
}

// ---- The analysis ------------------------------------------------------------------------------

json analyse_task(const TaskScores& t, const AnalysisConfig& cfg) {
  t.validate();
  cfg.validate();
  const size_t arms = t.arms.size(), repeats = t.repeats.size(), sites = t.sites.size();
  const double level = cfg.conf_level;
  size_t upper = 0;  // 0 = none (the baseline has no gain)
  if (!cfg.upper.empty()) {
    upper = static_cast<size_t>(std::find(t.arms.begin(), t.arms.end(), cfg.upper) - t.arms.begin());
    if (upper == 0 || upper == arms)
      throw ConfigError("analysis.upper", fmt::format("'{}' is not a non-baseline arm of task {}", cfg.upper, t.task),
                        "name the arm trained with the real donor data, or leave it empty");
  }

  json out = {{"task", t.task}, {"baseline", t.arms[0]}, {"repeats", t.repeats}, {"analysis", cfg.to_json()}};

  // Sites: class counts, the small-site flag, and whether the DeLong statistics are defined.
  std::vector<std::string> site_error(sites);
  std::string pooled_error;
  json site_list = json::array();
  for (size_t s = 0; s < sites; ++s) {
    const SiteCases& sc = t.sites[s];
    const size_t pos = count_positives(sc.labels), neg = sc.labels.size() - pos;
    json j = {{"site", sc.site}, {"cases", sc.labels.size()}, {"positives", pos}, {"negatives", neg}};
    const size_t min = static_cast<size_t>(cfg.min_positives);
    j["flagged"] = pos < min || neg < min;
    if (pos < min || neg < min)
      j["reason"] = fmt::format("{} positives and {} negatives: fewer than min_positives = {}", pos, neg, min);
    if (pos < 2 || neg < 2) {
      site_error[s] = too_few_cases(pos, neg);
      if (pooled_error.empty()) pooled_error = "site " + sc.site + " has " + site_error[s];
    }
    site_list.push_back(j);
  }
  out["sites"] = site_list;

  // Per arm, repeat and site: the AUC.
  std::vector<std::vector<std::vector<double>>> auc(arms, std::vector<std::vector<double>>(repeats));
  for (size_t a = 0; a < arms; ++a)
    for (size_t r = 0; r < repeats; ++r)
      for (size_t s = 0; s < sites; ++s)
        auc[a][r].push_back(site_error[s].empty() ? stats::auc(t.sites[s].labels, t.scores[a][r][s]) : std::nan(""));

  std::optional<BootstrapReplicates> boot;
  if (pooled_error.empty()) boot = hierarchical_bootstrap(t, cfg);

  // The upper arm's pooled gain CI decides whether the share recovered is estimable.
  std::string share_error;
  if (upper && boot) {
    const json ci = bootstrap_json(boot->gain[upper], cfg);
    if (ci.contains("error")) {
      share_error = "not estimable: " + ci["error"].get<std::string>();
    } else if (ci["ci"]["lower"].get<double>() <= 0.0 && ci["ci"]["upper"].get<double>() >= 0.0) {
      share_error =
          fmt::format("not estimable: the pooled gain of '{}' has a {:g}% CI covering 0 ({:.4f} to {:.4f})",
                      t.arms[upper], 100 * level, ci["ci"]["lower"].get<double>(), ci["ci"]["upper"].get<double>());
    }
  }

  json arm_list = json::array();
  for (size_t a = 0; a < arms; ++a) {
    const bool is_baseline = a == 0;
    json arm = {{"arm", t.arms[a]}, {"baseline", is_baseline}};
    // Per site.
    json site_results = json::array();
    for (size_t s = 0; s < sites; ++s) {
      const SiteCases& sc = t.sites[s];
      json j = {{"site", sc.site}};
      if (!site_error[s].empty()) {
        j["error"] = site_error[s];
        site_results.push_back(j);
        continue;
      }
      const std::string where = fmt::format("task {}, arm {}, site {}", t.task, t.arms[a], sc.site);
      json per_repeat = json::array();
      std::vector<double> aucs, gains, relative;
      for (size_t r = 0; r < repeats; ++r) {
        per_repeat.push_back(auc_json(sc.labels, t.scores[a][r][s], level, where));
        aucs.push_back(auc[a][r][s]);
        gains.push_back(auc[a][r][s] - auc[0][r][s]);
        relative.push_back(gains.back() / auc[0][r][s]);
      }
      json auc_summary = over_repeats(aucs);
      auc_summary["repeats"] = per_repeat;
      j["auc"] = auc_summary;
      if (!is_baseline) {
        j["gain"] = over_repeats(gains);
        j["relative_gain"] = over_repeats(relative);
        json tests = json::array();
        std::vector<std::vector<double>> arm_scores, base_scores;
        for (size_t r = 0; r < repeats; ++r) {
          tests.push_back(try_stat([&] {
            return stats::to_json(stats::delong_test_paired(sc.labels, t.scores[a][r][s], t.scores[0][r][s], level,
                                                            where + ", repeat " + t.repeats[r]));
          }));
          arm_scores.push_back(t.scores[a][r][s]);
          base_scores.push_back(t.scores[0][r][s]);
        }
        j["tests"] = tests;
        j["contrast"] = contrast_json(sc.labels, arm_scores, base_scores, level, where);
      }
      site_results.push_back(j);
    }
    arm["sites"] = site_results;

    // Pooled over sites: per repeat the mean over sites; the bootstrap CI.
    if (!pooled_error.empty()) {
      arm["pooled"] = {{"error", pooled_error}};
    } else {
      std::vector<double> auc_r(repeats), gain_r(repeats), rel_r(repeats);
      for (size_t r = 0; r < repeats; ++r) {
        for (size_t s = 0; s < sites; ++s) {
          auc_r[r] += auc[a][r][s];
          gain_r[r] += auc[a][r][s] - auc[0][r][s];
          rel_r[r] += (auc[a][r][s] - auc[0][r][s]) / auc[0][r][s];
        }
        auc_r[r] /= static_cast<double>(sites);
        gain_r[r] /= static_cast<double>(sites);
        rel_r[r] /= static_cast<double>(sites);
      }
      json pooled = {{"sites", sites}, {"auc", pooled_json(auc_r, boot->auc[a], cfg)}};
      if (!is_baseline) {
        pooled["gain"] = pooled_json(gain_r, boot->gain[a], cfg);
        pooled["relative_gain"] = pooled_json(rel_r, boot->relative[a], cfg);
        if (upper && a != upper) {
          json share = {{"upper", t.arms[upper]}};
          if (!share_error.empty()) {
            share["error"] = share_error;
          } else {
            std::vector<double> upper_r(repeats);
            for (size_t r = 0; r < repeats; ++r)
              for (size_t s = 0; s < sites; ++s) upper_r[r] += auc[upper][r][s] - auc[0][r][s];
            const double estimate = mean_of(gain_r) / (mean_of(upper_r) / static_cast<double>(sites));
            std::vector<double> ratio(boot->gain[a].size());
            for (size_t b = 0; b < ratio.size(); ++b) ratio[b] = boot->gain[a][b] / boot->gain[upper][b];
            share["estimate"] = stats::json_number(estimate);
            share.update(bootstrap_json(ratio, cfg));
          }
          pooled["share_recovered"] = share;
        }
      }
      arm["pooled"] = pooled;
    }
    arm_list.push_back(arm);
  }

  // Survival: all sites' cases with complete outcomes, pooled.
  stats::SurvivalData surv;
  std::vector<double> age, male, label;
  std::vector<std::pair<size_t, size_t>> surv_cases;  // (site, case)
  bool any_outcomes = false;
  for (size_t s = 0; s < sites; ++s) {
    const SiteCases& sc = t.sites[s];
    if (sc.time.empty()) continue;
    any_outcomes = true;
    for (size_t i = 0; i < sc.labels.size(); ++i) {
      if (missing_outcome(sc, i)) continue;
      surv.time.push_back(sc.time[i]);
      surv.event.push_back(sc.event[i]);
      age.push_back(sc.age[i]);
      male.push_back(sc.male[i]);
      label.push_back(sc.labels[i]);
      surv_cases.emplace_back(s, i);
    }
  }
  if (any_outcomes) {
    const std::string where = "task " + t.task + ", survival";
    const size_t events = static_cast<size_t>(std::count(surv.event.begin(), surv.event.end(), 1));
    json survival = {{"cases", surv.time.size()}, {"events", events}, {"covariates", {"group", "age", "male"}}};
    if (surv.time.empty()) {
      survival["error"] = "no case has a complete outcome (time, event, age and sex)";
    } else {
      survival["true_label"] = try_stat([&] {
        return stats::to_json(stats::cox_ph(surv, {label, age, male}, {"label", "age", "male"}, level, where));
      });
      survival["kaplan_meier"] = km_groups(surv, label, "label", level, where);
    }
    out["survival"] = survival;
    for (size_t a = 0; a < arms && !surv.time.empty(); ++a) {
      json per_repeat = json::array();
      std::vector<double> hr, cindex;
      for (size_t r = 0; r < repeats; ++r) {
        std::vector<double> score, called;
        size_t n_called = 0;
        for (const auto& [s, i] : surv_cases) {
          score.push_back(t.scores[a][r][s][i]);
          called.push_back(t.scores[a][r][s][i] >= t.thresholds[a][r] ? 1.0 : 0.0);
          n_called += called.back() > 0.0;
        }
        const std::string at = where + ", arm " + t.arms[a] + ", repeat " + t.repeats[r];
        json cox = try_stat([&] {
          return stats::to_json(
              stats::cox_ph(surv, {called, age, male}, {"predicted_positive", "age", "male"}, level, at));
        });
        if (!cox.contains("error")) hr.push_back(cox["terms"][0]["hazard_ratio"]["estimate"].get<double>());
        json c = try_stat([&] {
          const stats::Concordance k = stats::concordance_index(surv, score, at);
          return json{{"estimate", k.c_index},
                      {"concordant", k.concordant},
                      {"discordant", k.discordant},
                      {"tied_score", k.tied_score},
                      {"tied_time", k.tied_time}};
        });
        if (!c.contains("error")) cindex.push_back(c["estimate"].get<double>());
        per_repeat.push_back({{"repeat", t.repeats[r]},
                              {"threshold", t.thresholds[a][r]},
                              {"predicted_positive", n_called},
                              {"cox", cox},
                              {"c_index", c}});
      }
      json summary = {{"repeats", per_repeat}};
      // The curves of the first repeat show the groups; the hazard ratio and C-index summarise all.
      std::vector<double> called;
      for (const auto& [s, i] : surv_cases) called.push_back(t.scores[a][0][s][i] >= t.thresholds[a][0] ? 1.0 : 0.0);
      json km = {{"repeat", t.repeats[0]},
                 {"grouping",
                  fmt::format("score >= {} (repeat {}'s validation threshold)", t.thresholds[a][0], t.repeats[0])}};
      km.update(km_groups(surv, called, "predicted", level, where + ", arm " + t.arms[a] + ", repeat " + t.repeats[0]));
      summary["kaplan_meier"] = km;
      summary["hazard_ratio"] =
          hr.empty() ? json{{"error", "no repeat's Cox model could be fitted"}}
                     : json{{"estimate", mean_of(hr)}, {"sd", stats::json_number(sd_of(hr))}, {"fitted", hr.size()}};
      summary["c_index"] = cindex.empty() ? json{{"error", "no repeat's concordance could be computed"}}
                                          : json{{"estimate", mean_of(cindex)},
                                                 {"sd", stats::json_number(sd_of(cindex))},
                                                 {"computed", cindex.size()}};
      arm_list[a]["survival"] = summary;
    }
  }

  // Subgroups: each subgroup's cases of all sites, pooled.
  std::set<std::string> names;
  for (const auto& sc : t.sites)
    for (const auto& [name, member] : sc.subgroups) names.insert(name);
  json subgroup_list = json::array();
  for (const auto& name : names) {
    std::vector<std::pair<size_t, size_t>> members;
    std::vector<int> labels;
    for (size_t s = 0; s < sites; ++s) {
      const auto it = t.sites[s].subgroups.find(name);
      if (it == t.sites[s].subgroups.end()) continue;
      for (size_t i = 0; i < it->second.size(); ++i)
        if (it->second[i]) members.emplace_back(s, i), labels.push_back(t.sites[s].labels[i]);
    }
    const size_t pos = count_positives(labels), neg = labels.size() - pos;
    json info = {{"subgroup", name}, {"cases", labels.size()}, {"positives", pos}, {"negatives", neg}};
    subgroup_list.push_back(info);
    // scores[a][r] over the subgroup's cases.
    std::vector<std::vector<std::vector<double>>> sg_scores(arms, std::vector<std::vector<double>>(repeats));
    for (size_t a = 0; a < arms; ++a)
      for (size_t r = 0; r < repeats; ++r)
        for (const auto& [s, i] : members) sg_scores[a][r].push_back(t.scores[a][r][s][i]);
    for (size_t a = 0; a < arms; ++a) {
      json j = {{"subgroup", name}};
      if (pos < 2 || neg < 2) {
        j["error"] = too_few_cases(pos, neg);
      } else {
        const std::string where = fmt::format("task {}, arm {}, subgroup {}", t.task, t.arms[a], name);
        json per_repeat = json::array();
        std::vector<double> aucs, gains;
        for (size_t r = 0; r < repeats; ++r) {
          per_repeat.push_back(auc_json(labels, sg_scores[a][r], level, where));
          aucs.push_back(stats::auc(labels, sg_scores[a][r], where));
          gains.push_back(aucs.back() - stats::auc(labels, sg_scores[0][r], where));
        }
        json auc_summary = over_repeats(aucs);
        auc_summary["repeats"] = per_repeat;
        j["auc"] = auc_summary;
        if (a != 0) {
          j["gain"] = over_repeats(gains);
          j["contrast"] = contrast_json(labels, sg_scores[a], sg_scores[0], level, where);
        }
      }
      if (!arm_list[a].contains("subgroups")) arm_list[a]["subgroups"] = json::array();
      arm_list[a]["subgroups"].push_back(j);
    }
  }
  out["subgroups"] = subgroup_list;
  for (auto& arm : arm_list)
    if (!arm.contains("subgroups")) arm["subgroups"] = json::array();
  out["arms"] = arm_list;
  return out;
}

void apply_holm(const std::vector<json*>& tasks) {
  // Family per arm name: that arm's per-site contrast p-values in every task.
  std::map<std::string, std::vector<json*>> family;
  for (json* task : tasks) {
    if (!task) throw InternalError("apply_holm", "a null task analysis");
    for (json& arm : task->at("arms")) {
      if (arm.at("baseline").get<bool>()) continue;
      for (json& site : arm.at("sites")) {
        if (!site.contains("contrast")) continue;
        json& c = site["contrast"];
        if (c.contains("p_value") && c["p_value"].is_number()) family[arm.at("arm").get<std::string>()].push_back(&c);
      }
    }
  }
  for (auto& [arm, contrasts] : family) {
    std::vector<double> p;
    for (const json* c : contrasts) p.push_back(c->at("p_value").get<double>());
    const std::vector<double> adjusted = stats::holm_adjust(p, "contrast p-values of arm " + arm);
    for (size_t k = 0; k < contrasts.size(); ++k) {
      (*contrasts[k])["p_holm"] = adjusted[k];
      (*contrasts[k])["holm_family"] = contrasts.size();
    }
  }
}

}  // namespace scintigen::study
