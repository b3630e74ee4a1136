// Evaluating a trained classifier on one or more datasets: scores, AUC with DeLong CI overall
// and per site, metrics at the threshold chosen on validation, calibration, a paired DeLong
// comparison with a second classifier, and Kaplan-Meier + log-rank by predicted group where
// the scans carry outcomes. No LibTorch in this header.
//
//   EvalConfig e;
//   e.model = "clf_small";
//   e.data = {"ext_a", "ext_b"};
//   e.out = "report.json";
//   nlohmann::json report = evaluate_classifier(e, &sink);   // also written to e.out
//
// A statistic that cannot be computed for a subgroup (one class only, fewer than two cases of
// a class) is reported as {"error": "..."} in its place, never as a number.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"

namespace scintigen::clf {

struct EvalConfig {
  std::string model;              // classifier folder (classify train --out)
  std::vector<std::string> data;  // dataset folders, each reported on its own
  std::string out;                // report JSON path
  std::string compare;            // optional second classifier folder, same task
  int batch = 64;
  int threads = 0;            // 0 = all cores
  int calibration_bins = 10;  // equal-width bins of the predicted probability
  double conf_level = 0.95;
  std::string device = "cpu";  // cpu | cuda | cuda:N | auto

  void validate() const;  // throws ConfigError
  nlohmann::json to_json() const;
};

// Reports its progress (scans scored per dataset) to `events`.
nlohmann::json evaluate_classifier(const EvalConfig& config, EventSink* events = nullptr);

// The reliability table and Brier score of probabilities against 0/1 labels: `bins` equal-width
// bins over [0, 1] (the last closed), each with n, mean predicted, observed positive rate.
nlohmann::json calibration_json(const std::vector<int>& labels, const std::vector<double>& probs, int bins);

}  // namespace scintigen::clf
