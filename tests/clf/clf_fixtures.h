// Small labelled datasets synthesised in the tests: a body-shaped count background with
// Poisson noise; positives carry a bright blob (a "lesion") at a random place in both views.
#pragma once

#include <cmath>
#include <string>

#include "clf/augment.h"
#include "data/dataset.h"

namespace scintigen::clf::testing {

struct BlobDatasetSpec {
  int n = 120;
  int height = 128, width = 32;
  double prevalence = 0.5;  // fraction with metastasis = 1 (every other one up to this rate)
  bool metastasis_labels = true;
  bool cardiac_labels = false;  // cardiac_grade 3 for blob scans, 0 otherwise
  bool outcomes = true;         // positives die sooner
  uint64_t seed = 1;
  Origin origin = Origin::kSimulated;
};

inline void make_blob_dataset(const std::string& dir, const BlobDatasetSpec& spec) {
  Dataset ds = Dataset::create(dir, nlohmann::json{{"test", "blob dataset"}});
  Rng rng(spec.seed);
  const int h = spec.height, w = spec.width;
  for (int i = 0; i < spec.n; ++i) {
    const bool pos = rng.uniform() < spec.prevalence;
    Scan s = make_scan(h, w);
    s.id = ds.next_id();
    const double dose = 0.7 + 0.6 * rng.uniform();
    const int br = rng.integer(h / 8, h - h / 8), bc = rng.integer(w / 4, w - w / 4);
    for (int v = 0; v < 2; ++v)
      for (int r = 0; r < h; ++r)
        for (int c = 0; c < w; ++c) {
          const double body = (c >= w / 5 && c < w - w / 5) ? 20.0 : 1.0;
          double lam = body * dose;
          if (pos) lam += 120.0 * dose * std::exp(-((r - br) * (r - br) + (c - bc) * (c - bc)) / 4.0);
          s.view(static_cast<View>(v))[r * w + c] = static_cast<float>(poisson(lam, rng));
        }
    if (spec.metastasis_labels) s.labels.metastasis = pos ? 1 : 0;
    if (spec.cardiac_labels) s.labels.cardiac_grade = pos ? 3 : 0;
    s.labels.site = i % 2 ? "site_a" : "site_b";
    if (spec.outcomes) {
      s.labels.outcome_time = std::floor((pos ? 200.0 : 800.0) * (0.2 + 1.6 * rng.uniform()));
      s.labels.outcome_event = rng.uniform() < 0.7 ? 1 : 0;
    }
    s.origin = spec.origin;
    ds.add(s);
  }
  ds.commit();
}

}  // namespace scintigen::clf::testing
