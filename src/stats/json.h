// JSON forms of the statistics' result types: one serialiser per type and one naming scheme for
// every report and CLI (docs/STATS.md "JSON"), with readers for the types a report reads back.
//
//   nlohmann::json j = stats::to_json(delong_auc(y, s, 0.95, "scores.csv"));
//   // {"estimate": 0.84, "se": 0.05, "variance": 0.0025, "positives": 40, "negatives": 60,
//   //  "ci": {"level": 0.95, "lower": 0.74, "upper": 0.94, "method": "delong"}}
//   AucResult a = stats::auc_from_json(j);
//
// The scheme:
// - A value reported with a confidence interval is "estimate", its interval "ci":
//   {"level", "lower", "upper", "method"}; "lower", "upper" and "level" occur nowhere else, and
//   "ci" is null where no interval is defined (one class only, no trials). A result that is
//   itself an estimate (an AUC, a proportion, a kappa, an AUC difference) holds "estimate" at its
//   top; a result with several (a Cox term) holds one such object per quantity ("hazard_ratio").
// - Standard errors are "se", p-values "p_value", test statistics "statistic" or their usual name
//   (z, chi_square).
// - Non-finite numbers and unset optionals are null (JSON has no NaN); readers turn null back
//   into NaN or an empty optional.
// tests/stats/stats_schema.json describes every form; tests/stats/json_schema_test.cc holds
// each serialiser to it. Readers throw nlohmann::json::exception on a missing or mistyped field
// (callers reading a file turn it into an InputError naming the file).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "stats/agreement.h"
#include "stats/distributions.h"
#include "stats/roc.h"
#include "stats/survival.h"

namespace scintigen::stats {

nlohmann::json json_number(double v);                        // null when not finite
nlohmann::json json_number(const std::optional<double>& v);  // null when unset or not finite

// {"level", "lower", "upper", "method"}, or null when both limits are unset or not finite.
nlohmann::json interval_json(double level, const std::optional<double>& lower, const std::optional<double>& upper,
                             const char* method);

// {estimate, successes, trials, ci (wilson)}
nlohmann::json to_json(const Proportion& p);
Proportion proportion_from_json(const nlohmann::json& j);

// {estimate, se, variance, positives, negatives, ci (delong)}; se, variance and ci null when
// not finite (an AUC without a DeLong CI, see stats/analysis.h).
nlohmann::json to_json(const AucResult& a);
AucResult auc_from_json(const nlohmann::json& j);

// {replicates, seed, rng, mean, sd, ci (stratified percentile bootstrap)}
nlohmann::json to_json(const BootstrapCi& b);

// {threshold, tp, fp, tn, fn, youden_j, sensitivity, specificity, ppv, npv}
nlohmann::json to_json(const ThresholdMetrics& m);
ThresholdMetrics threshold_metrics_from_json(const nlohmann::json& j);

// {method, paired, auc1, auc2, estimate (auc1 - auc2), se, statistic, df, p_value, covariance,
// ci}: df null when paired (normal test), ci null when unpaired.
nlohmann::json to_json(const DelongTest& t);
DelongTest delong_test_from_json(const nlohmann::json& j);

// {n, events, median {estimate, ci}, curve [{time, n_risk, n_event, n_censor, estimate, se, ci}]}
nlohmann::json to_json(const KaplanMeier& km);
KaplanMeier kaplan_meier_from_json(const nlohmann::json& j);

// {groups, n, observed, expected, chi_square, df, p_value}
nlohmann::json to_json(const LogRank& lr);
LogRank log_rank_from_json(const nlohmann::json& j);

// {ties, n, events, terms [{name, beta, se, z, p_value, hazard_ratio {estimate, ci}}],
//  loglik_null, loglik, lr_chi_square, lr_df, lr_p_value, iterations}
nlohmann::json to_json(const CoxModel& m);

// {estimate, se, z, p_value, subjects, raters, categories, proportions, observed_agreement,
//  expected_agreement}
nlohmann::json to_json(const FleissKappa& f);

// {estimate, weights, subjects, observed_agreement, expected_agreement}
nlohmann::json to_json(const CohenKappa& c);

}  // namespace scintigen::stats
