#include "stats/roc.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "core/error.h"

namespace scintigen::stats {

namespace {

struct Case {
  double score;
  uint32_t index;  // position in the input
  bool positive;
};

// Checks the input and counts the classes; throws InputError naming `where`.
void check_binary(const std::vector<int>& labels, const std::vector<double>& scores, const std::string& where,
                  size_t* positives, size_t* negatives) {
  if (labels.empty() && scores.empty())
    throw InputError(where, "no cases", "give at least one positive and one negative case");
  if (labels.size() != scores.size())
    throw InputError(where, std::to_string(labels.size()) + " labels but " + std::to_string(scores.size()) + " scores",
                     "every case needs exactly one label and one score");
  if (labels.size() >= std::numeric_limits<uint32_t>::max())
    throw InputError(where, std::to_string(labels.size()) + " cases", "at most 4,294,967,294 cases are supported");
  size_t pos = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1)
      throw InputError(where, "case " + std::to_string(i + 1) + " has label " + std::to_string(labels[i]),
                       "labels must be 1 (positive) or 0 (negative)");
    if (!std::isfinite(scores[i]))
      throw InputError(where, "case " + std::to_string(i + 1) + " has score " + std::to_string(scores[i]),
                       "scores must be finite numbers (no NaN or infinity)");
    pos += labels[i];
  }
  const size_t neg = labels.size() - pos;
  if (pos == 0 || neg == 0)
    throw InputError(where,
                     "only one class: all " + std::to_string(labels.size()) + " cases are " +
                         (pos == 0 ? "negative (label 0)" : "positive (label 1)"),
                     "ROC analysis needs both positive and negative cases");
  *positives = pos;
  *negatives = neg;
}

// The cases sorted by ascending score (ties in input order).
std::vector<Case> sorted_cases(const std::vector<int>& labels, const std::vector<double>& scores) {
  std::vector<Case> cases(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) cases[i] = {scores[i], static_cast<uint32_t>(i), labels[i] == 1};
  std::sort(cases.begin(), cases.end(), [](const Case& a, const Case& b) {
    return a.score < b.score || (a.score == b.score && a.index < b.index);
  });
  return cases;
}

double sample_covariance(const std::vector<double>& a, double mean_a, const std::vector<double>& b, double mean_b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - mean_a) * (b[i] - mean_b);
  return s / static_cast<double>(a.size() - 1);
}

void require_two_per_class(size_t positives, size_t negatives, const std::string& where) {
  if (positives < 2 || negatives < 2)
    throw InputError(where,
                     "DeLong variance needs at least 2 positive and 2 negative cases, got " +
                         std::to_string(positives) + " positive and " + std::to_string(negatives) + " negative",
                     "with one case of a class the variance is undefined; add cases");
}

// Uniform integer in [0, n) from a 64-bit engine by rejection: the same sequence on every platform.
uint64_t uniform_index(std::mt19937_64& rng, uint64_t n) {
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
  uint64_t r;
  do r = rng();
  while (r >= limit);
  return r % n;
}

}  // namespace

RocCurve roc_curve(const std::vector<int>& labels, const std::vector<double>& scores, const std::string& where) {
  RocCurve c;
  check_binary(labels, scores, where, &c.positives, &c.negatives);
  const std::vector<Case> cases = sorted_cases(labels, scores);
  const double m = static_cast<double>(c.positives), n = static_cast<double>(c.negatives);
  c.points.push_back({std::numeric_limits<double>::infinity(), 0, 0, 0.0, 0.0});
  size_t tp = 0, fp = 0;
  for (size_t end = cases.size(); end > 0;) {
    size_t begin = end - 1;
    while (begin > 0 && cases[begin - 1].score == cases[end - 1].score) --begin;
    for (size_t k = begin; k < end; ++k) cases[k].positive ? ++tp : ++fp;
    c.points.push_back({cases[begin].score, tp, fp, tp / m, fp / n});
    end = begin;
  }
  return c;
}

Placements delong_placements(const std::vector<int>& labels, const std::vector<double>& scores,
                             const std::string& where) {
  size_t m = 0, n = 0;
  check_binary(labels, scores, where, &m, &n);
  // Position of each case among the positives (negatives), in input order.
  std::vector<uint32_t> rank_in_class(labels.size());
  {
    uint32_t p = 0, q = 0;
    for (size_t i = 0; i < labels.size(); ++i) rank_in_class[i] = labels[i] ? p++ : q++;
  }
  const std::vector<Case> cases = sorted_cases(labels, scores);
  Placements pl;
  pl.v10.resize(m);
  pl.v01.resize(n);
  // Ref: Sun & Xu (2014): V10_i = (Tz_i - Tx_i) / n and V01_j = 1 - (Tz_j - Ty_j) / m, where
  // Tz, Tx, Ty are midranks among all, positive and negative scores. Within a tie group of pg
  // positives and ng negatives above cpos positives and cneg negatives, Tz_i - Tx_i = cneg + ng/2
  // and Tz_j - Ty_j = cpos + pg/2, so one pass over the sorted scores gives every midrank.
  const double md = static_cast<double>(m), nd = static_cast<double>(n);
  uint64_t cneg = 0, cpos = 0, twice_u = 0;  // twice the Mann-Whitney U, exact
  for (size_t begin = 0; begin < cases.size();) {
    size_t end = begin + 1;
    while (end < cases.size() && cases[end].score == cases[begin].score) ++end;
    uint64_t pg = 0, ng = 0;
    for (size_t k = begin; k < end; ++k) cases[k].positive ? ++pg : ++ng;
    const double v10 = (static_cast<double>(cneg) + 0.5 * static_cast<double>(ng)) / nd;
    const double v01 = (md - static_cast<double>(cpos) - 0.5 * static_cast<double>(pg)) / md;
    for (size_t k = begin; k < end; ++k) {
      if (cases[k].positive)
        pl.v10[rank_in_class[cases[k].index]] = v10;
      else
        pl.v01[rank_in_class[cases[k].index]] = v01;
    }
    twice_u += pg * (2 * cneg + ng);
    cneg += ng;
    cpos += pg;
    begin = end;
  }
  pl.auc = static_cast<double>(twice_u) / (2.0 * md * nd);
  return pl;
}

double auc(const std::vector<int>& labels, const std::vector<double>& scores, const std::string& where) {
  return delong_placements(labels, scores, where).auc;
}

AucResult delong_auc(const std::vector<int>& labels, const std::vector<double>& scores, double conf_level,
                     const std::string& where) {
  const double z = two_sided_z(conf_level);
  const Placements pl = delong_placements(labels, scores, where);
  AucResult r;
  r.positives = pl.v10.size();
  r.negatives = pl.v01.size();
  require_two_per_class(r.positives, r.negatives, where);
  r.auc = pl.auc;
  // Ref: DeLong et al. (1988), eq. for var(theta) with S10, S01 the sample variances.
  r.variance = sample_covariance(pl.v10, pl.auc, pl.v10, pl.auc) / r.positives +
               sample_covariance(pl.v01, pl.auc, pl.v01, pl.auc) / r.negatives;
  r.se = std::sqrt(r.variance);
  r.conf_level = conf_level;
  // As pROC ci.auc(method = "delong"): qnorm(c(a/2, 1 - a/2), mean = auc, sd = se), clipped.
  r.ci_lower = std::max(0.0, r.auc - z * r.se);
  r.ci_upper = std::min(1.0, r.auc + z * r.se);
  return r;
}

double quantile_type7(const std::vector<double>& sorted, double prob) {
  if (sorted.empty()) throw InternalError("quantile_type7", "no values");
  const double h = (static_cast<double>(sorted.size()) - 1.0) * prob;
  const size_t lo = static_cast<size_t>(std::floor(h));
  if (lo + 1 >= sorted.size()) return sorted.back();
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}

BootstrapCi bootstrap_auc_ci(const std::vector<int>& labels, const std::vector<double>& scores, size_t replicates,
                             uint64_t seed, double conf_level, const std::string& where) {
  two_sided_z(conf_level);  // validates conf_level
  size_t m = 0, n = 0;
  check_binary(labels, scores, where, &m, &n);
  if (replicates < 2) throw InputError(where, "bootstrap needs at least 2 replicates", "use e.g. 2000");
  std::vector<double> neg, pos;
  for (size_t i = 0; i < labels.size(); ++i) (labels[i] ? pos : neg).push_back(scores[i]);
  std::sort(neg.begin(), neg.end());
  // For each positive: the sorted negatives [0, lo) lie below it and [lo, hi) tie with it.
  std::vector<uint32_t> lo(m), hi(m);
  for (size_t i = 0; i < m; ++i) {
    lo[i] = static_cast<uint32_t>(std::lower_bound(neg.begin(), neg.end(), pos[i]) - neg.begin());
    hi[i] = static_cast<uint32_t>(std::upper_bound(neg.begin(), neg.end(), pos[i]) - neg.begin());
  }
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> cum(n + 1);
  std::vector<double> aucs(replicates);
  for (size_t r = 0; r < replicates; ++r) {
    // Resampled negatives as counts over the sorted negatives, then prefix sums.
    std::fill(cum.begin(), cum.end(), 0);
    for (size_t k = 0; k < n; ++k) ++cum[uniform_index(rng, n) + 1];
    for (size_t k = 1; k <= n; ++k) cum[k] += cum[k - 1];
    uint64_t twice_u = 0;
    for (size_t k = 0; k < m; ++k) {
      const uint64_t i = uniform_index(rng, m);
      twice_u += cum[lo[i]] + cum[hi[i]];  // 2 * below + tied
    }
    aucs[r] = static_cast<double>(twice_u) / (2.0 * static_cast<double>(m) * static_cast<double>(n));
  }
  BootstrapCi b;
  b.replicates = replicates;
  b.seed = seed;
  b.conf_level = conf_level;
  double sum = 0.0;
  for (double a : aucs) sum += a;
  b.mean = sum / replicates;
  b.sd = std::sqrt(sample_covariance(aucs, b.mean, aucs, b.mean));
  std::sort(aucs.begin(), aucs.end());
  const double alpha = 1.0 - conf_level;
  b.lower = quantile_type7(aucs, alpha / 2.0);
  b.upper = quantile_type7(aucs, 1.0 - alpha / 2.0);
  return b;
}

ThresholdMetrics threshold_metrics(const std::vector<int>& labels, const std::vector<double>& scores, double threshold,
                                   double conf_level, const std::string& where) {
  size_t m = 0, n = 0;
  check_binary(labels, scores, where, &m, &n);
  if (std::isnan(threshold)) throw InputError(where, "threshold is NaN", "give a number");
  ThresholdMetrics t;
  t.threshold = threshold;
  for (size_t i = 0; i < labels.size(); ++i) {
    const bool called = scores[i] >= threshold;
    if (labels[i])
      called ? ++t.tp : ++t.fn;
    else
      called ? ++t.fp : ++t.tn;
  }
  t.sensitivity = wilson_interval(t.tp, t.tp + t.fn, conf_level);
  t.specificity = wilson_interval(t.tn, t.tn + t.fp, conf_level);
  t.ppv = wilson_interval(t.tp, t.tp + t.fp, conf_level);
  t.npv = wilson_interval(t.tn, t.tn + t.fn, conf_level);
  t.youden = static_cast<double>(t.tp) / m + static_cast<double>(t.tn) / n - 1.0;
  return t;
}

ThresholdMetrics youden_metrics(const std::vector<int>& labels, const std::vector<double>& scores, double conf_level,
                                const std::string& where) {
  const RocCurve c = roc_curve(labels, scores, where);
  size_t best = 1;
  double best_j = -2.0;
  for (size_t k = 1; k < c.points.size(); ++k) {  // observed scores only (not the +inf start)
    // Compare exact integer numerators: J = (tp n - fp m) / (m n).
    const double j =
        static_cast<double>(c.points[k].tp) * c.negatives - static_cast<double>(c.points[k].fp) * c.positives;
    if (j > best_j) best_j = j, best = k;
  }
  return threshold_metrics(labels, scores, c.points[best].threshold, conf_level, where);
}

namespace {

// Fills difference, se, z and the p-value (normal, or Student's t when t.df > 0).
DelongTest finish_test(DelongTest t) {
  t.difference = t.auc1 - t.auc2;
  const double v = t.var1 + t.var2 - 2.0 * t.covariance;
  t.se = std::sqrt(std::max(0.0, v));
  if (t.difference == 0.0) {
    t.z = 0.0;  // includes 0 / 0 for two identical or two perfect classifiers
    t.p_value = 1.0;
  } else if (!(t.se > 0.0)) {
    throw InputError("DeLong test", "the variance of the AUC difference is 0 but the AUCs differ",
                     "the test is undefined for these scores (e.g. a perfect and an imperfect classifier on "
                     "very few cases)");
  } else {
    t.z = t.difference / t.se;
    t.p_value = t.df > 0.0 ? student_t_two_sided_p(t.z, t.df) : two_sided_normal_p(t.z);
  }
  return t;
}

}  // namespace

DelongTest delong_test_paired(const std::vector<int>& labels, const std::vector<double>& scores1,
                              const std::vector<double>& scores2, double conf_level, const std::string& where) {
  const double zc = two_sided_z(conf_level);
  if (scores1.size() != scores2.size())
    throw InputError(where,
                     "the two score sets differ in length (" + std::to_string(scores1.size()) + " vs " +
                         std::to_string(scores2.size()) + ")",
                     "a paired test needs both scores for every case");
  const Placements a = delong_placements(labels, scores1, where + " (first scores)");
  const Placements b = delong_placements(labels, scores2, where + " (second scores)");
  const size_t m = a.v10.size(), n = a.v01.size();
  require_two_per_class(m, n, where);
  // Ref: DeLong et al. (1988): S = S10 / m + S01 / n over the two placements' covariances.
  DelongTest t;
  t.paired = true;
  t.auc1 = a.auc;
  t.auc2 = b.auc;
  t.var1 = sample_covariance(a.v10, a.auc, a.v10, a.auc) / m + sample_covariance(a.v01, a.auc, a.v01, a.auc) / n;
  t.var2 = sample_covariance(b.v10, b.auc, b.v10, b.auc) / m + sample_covariance(b.v01, b.auc, b.v01, b.auc) / n;
  t.covariance = sample_covariance(a.v10, a.auc, b.v10, b.auc) / m + sample_covariance(a.v01, a.auc, b.v01, b.auc) / n;
  t = finish_test(t);
  t.conf_level = conf_level;
  t.ci_lower = t.difference - zc * t.se;
  t.ci_upper = t.difference + zc * t.se;
  return t;
}

DelongTest delong_test_unpaired(const std::vector<int>& labels1, const std::vector<double>& scores1,
                                const std::vector<int>& labels2, const std::vector<double>& scores2,
                                const std::string& where1, const std::string& where2) {
  const AucResult a = delong_auc(labels1, scores1, 0.95, where1);
  const AucResult b = delong_auc(labels2, scores2, 0.95, where2);
  DelongTest t;
  t.paired = false;
  t.auc1 = a.auc;
  t.auc2 = b.auc;
  t.var1 = a.variance;
  t.var2 = b.variance;
  // Ref: pROC delong.unpaired.test: Welch-Satterthwaite degrees of freedom.
  const double n1 = static_cast<double>(a.positives + a.negatives), n2 = static_cast<double>(b.positives + b.negatives);
  const double v = t.var1 + t.var2;
  t.df = v > 0.0 ? v * v / (t.var1 * t.var1 / (n1 - 1.0) + t.var2 * t.var2 / (n2 - 1.0)) : 0.0;
  return finish_test(t);
}

AucInterval delong_logit_ci(const AucResult& r, double conf_level) {
  const double z = two_sided_z(conf_level);
  if (!(r.auc > 0.0 && r.auc < 1.0)) return {r.auc, r.auc};  // SE is 0 at A = 0 or 1
  // Ref: Pepe (2003), sec. 5.2.4: the delta method gives SE(logit A) = SE(A) / (A (1 - A)).
  const double logit = std::log(r.auc / (1.0 - r.auc));
  const double half = z * r.se / (r.auc * (1.0 - r.auc));
  const auto expit = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  return {expit(logit - half), expit(logit + half)};
}

DelongContrast delong_contrast(const std::vector<int>& labels, const std::vector<std::vector<double>>& scores,
                               const std::vector<double>& weights, double conf_level, const std::string& where) {
  const double zc = two_sided_z(conf_level);
  if (scores.empty()) throw InputError(where, "no score sets", "a contrast needs at least one set of scores");
  if (weights.size() != scores.size())
    throw InputError(where,
                     std::to_string(scores.size()) + " score sets but " + std::to_string(weights.size()) + " weights",
                     "give one weight per set of scores");
  for (size_t k = 0; k < weights.size(); ++k)
    if (!std::isfinite(weights[k]))
      throw InputError(where, "weight " + std::to_string(k + 1) + " is not a finite number", "give finite weights");
  DelongContrast c;
  c.weights = weights;
  c.conf_level = conf_level;
  // The contrast's placements sum_k w_k V_k, as (positive-weight sum) - (negative-weight sum).
  std::vector<double> p10, n10, p01, n01;
  double est_pos = 0.0, est_neg = 0.0;
  for (size_t k = 0; k < scores.size(); ++k) {
    if (scores[k].size() != labels.size())
      throw InputError(where,
                       "score set " + std::to_string(k + 1) + " has " + std::to_string(scores[k].size()) +
                           " scores for " + std::to_string(labels.size()) + " labels",
                       "every set needs one score per case");
    const Placements pl = delong_placements(labels, scores[k], where);
    if (k == 0) {
      require_two_per_class(pl.v10.size(), pl.v01.size(), where);
      p10.assign(pl.v10.size(), 0.0), n10 = p10;
      p01.assign(pl.v01.size(), 0.0), n01 = p01;
    }
    c.auc.push_back(pl.auc);
    const double w = std::fabs(weights[k]);
    auto& s10 = weights[k] >= 0.0 ? p10 : n10;
    auto& s01 = weights[k] >= 0.0 ? p01 : n01;
    for (size_t i = 0; i < s10.size(); ++i) s10[i] += w * pl.v10[i];
    for (size_t j = 0; j < s01.size(); ++j) s01[j] += w * pl.v01[j];
    (weights[k] >= 0.0 ? est_pos : est_neg) += w * pl.auc;
  }
  const size_t m = p10.size(), n = p01.size();
  std::vector<double> c10(m), c01(n);
  double mean10 = 0.0, mean01 = 0.0;
  for (size_t i = 0; i < m; ++i) mean10 += (c10[i] = p10[i] - n10[i]);
  for (size_t j = 0; j < n; ++j) mean01 += (c01[j] = p01[j] - n01[j]);
  mean10 /= static_cast<double>(m);
  mean01 /= static_cast<double>(n);
  // Ref: DeLong et al. (1988): var(w' theta) = w' (S10 / m + S01 / n) w.
  const double var = sample_covariance(c10, mean10, c10, mean10) / static_cast<double>(m) +
                     sample_covariance(c01, mean01, c01, mean01) / static_cast<double>(n);
  c.estimate = est_pos - est_neg;
  c.se = std::sqrt(std::max(0.0, var));
  if (c.estimate == 0.0) {
    c.z = 0.0;
    c.p_value = 1.0;
  } else if (!(c.se > 0.0)) {
    throw InputError(where, "the variance of the AUC contrast is 0 but the contrast is not",
                     "the test is undefined for these scores (e.g. perfect and imperfect classifiers on very few "
                     "cases)");
  } else {
    c.z = c.estimate / c.se;
    c.p_value = two_sided_normal_p(c.z);
  }
  c.ci_lower = c.estimate - zc * c.se;
  c.ci_upper = c.estimate + zc * c.se;
  return c;
}

}  // namespace scintigen::stats
