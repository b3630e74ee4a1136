#include "stats/json.h"

#include <cmath>

namespace scintigen::stats {

using json = nlohmann::json;

json json_number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json json_number(const std::optional<double>& v) { return v ? json_number(*v) : json(nullptr); }

json to_json(const Proportion& p) {
  return {{"estimate", json_number(p.estimate)},
          {"successes", p.successes},
          {"trials", p.trials},
          {"ci_lower", json_number(p.lower)},
          {"ci_upper", json_number(p.upper)}};
}

json to_json(const ThresholdMetrics& m) {
  return {{"threshold", json_number(m.threshold)},
          {"tp", m.tp},
          {"fp", m.fp},
          {"tn", m.tn},
          {"fn", m.fn},
          {"youden_j", json_number(m.youden)},
          {"sensitivity", to_json(m.sensitivity)},
          {"specificity", to_json(m.specificity)},
          {"ppv", to_json(m.ppv)},
          {"npv", to_json(m.npv)}};
}

json to_json(const KaplanMeier& km) {
  json rows = json::array();
  for (const auto& r : km.rows)
    rows.push_back({{"time", r.time},
                    {"n_risk", r.n_risk},
                    {"n_event", r.n_event},
                    {"n_censor", r.n_censor},
                    {"survival", r.survival},
                    {"std_err", json_number(r.std_err)},
                    {"lower", json_number(r.lower)},
                    {"upper", json_number(r.upper)}});
  return {{"n", km.n},
          {"events", km.events},
          {"median",
           {{"estimate", json_number(km.median.median)},
            {"lower", json_number(km.median.lower)},
            {"upper", json_number(km.median.upper)}}},
          {"curve", rows}};
}

}  // namespace scintigen::stats
