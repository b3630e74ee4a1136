// JSON forms of the statistics' result types, one schema for every report and CLI:
//
//   nlohmann::json j = stats::to_json(threshold_metrics(y, s, 0.5, 0.95, "scores.csv"));
//
// Non-finite numbers and unset optionals become null (JSON has no NaN); confidence limits are
// always named ci_lower / ci_upper.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "stats/distributions.h"
#include "stats/roc.h"
#include "stats/survival.h"

namespace scintigen::stats {

nlohmann::json json_number(double v);                    // null when not finite
nlohmann::json json_number(const std::optional<double>& v);  // null when unset or not finite

// {estimate, successes, trials, ci_lower, ci_upper}
nlohmann::json to_json(const Proportion& p);
// {threshold, tp, fp, tn, fn, youden_j, sensitivity, specificity, ppv, npv}
nlohmann::json to_json(const ThresholdMetrics& m);
// {n, events, median {estimate, lower, upper}, curve [{time, n_risk, n_event, n_censor,
// survival, std_err, lower, upper}]}
nlohmann::json to_json(const KaplanMeier& km);

}  // namespace scintigen::stats
