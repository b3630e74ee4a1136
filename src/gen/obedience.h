// Does a model obey its conditions? Image measures computed alike on reference scans (e.g. the
// simulated training data, whose labels are true) and on scans generated for each condition,
// with a pass/fail rule per measure that can fail (docs/MODEL.md, "Condition obedience").
//
//   ObedienceConfig c;  c.model = "builtin";  c.reference = "sim";  c.n = 24;
//   ObedienceReport r = check_obedience(c, &sink);   // r.passed, r.to_json()
//
// Measures, on the anterior view at the model's grid (version 2; docs/MODEL.md):
//   heart    mean counts in a heart ROI / mean counts of the view. The ROI is learnt from the
//            reference: the 1% of upper-half pixels where mean(grade 3) - mean(grade 0) is largest.
//            Pass: generated means rise with the requested Perugini grade 0 < 1 < 2 < 3 (DPD),
//            and AUC(grade 3 vs grade 0) has a 95% DeLong CI above 0.5. Always judged.
//   hotspots focal hot-spot pixels: each view scaled to 500,000 counts, z = (3x3 mean - 15x15
//            mean) / sqrt(15x15 mean / 9 + 1), pixels with z > 8 counted over both views,
//            AUC(metastasis=1 vs 0). (On simulated scans at 64 x 256 this barely separates the
//            true labels, reference AUC ~0.54: the simulator's metastases are subtle at that
//            grid and its confounders are hot too; docs/MODEL.md.)
//   soft     soft-tissue ratio: median of body pixels (counts above 2% of the view's 99th
//            percentile) / 99th percentile, AUC(DPD vs MDP).
//   length   body length: rows whose count sum exceeds 10% of the largest row sum, AUC(M vs F).
// A two-group measure (hotspots, soft, length) is judged only where the reference shows its
// effect: the reference AUC's 95% DeLong CI excludes 0.5. Then the generated AUC's CI must
// exclude 0.5 on the same side. Elsewhere its verdict is "not judged" and it does not count.
// Each reference group holds every matching two-view scan, up to reference_max.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "core/scan.h"
#include "gen/sampler_config.h"

namespace scintigen::gen {

struct ObedienceConfig {
  std::string model = "builtin";
  std::string reference;    // dataset with true labels (the training data, or data like it)
  int n = 24;               // scans per generated group
  int reference_max = 200;  // at most this many reference scans per group (bounds memory)
  SamplerConfig sampling;   // generate's settings and defaults (its seed unused: `seed` below seeds the scans)
  std::string guide_model;  // autoguidance's guide model, as generate's --guide-model ("" = none)
  uint64_t seed = 0;
  int threads = 0;
  int batch = 16;
  Precision precision = Precision::kAuto;  // as generate's (on the CPU)
  void validate() const;
  nlohmann::json to_json() const;
};

// A (2, H, W) counts view as a row-major H x W image.
double heart_ratio(const float* view, int h, int w, const std::vector<uint8_t>& roi);
int hotspot_count(const float* view, int h, int w);
double soft_tissue_ratio(const float* view, int h, int w);
int body_length_rows(const float* view, int h, int w);

struct ObedienceReport {
  bool passed = false;
  nlohmann::json measures = nlohmann::json::array();  // one object per measure
  std::string model_sha256;                           // the checked model's EMA weights
  std::string guide_model_sha256;                     // autoguidance's guide ("" = none)
  nlohmann::json to_json() const;
};

// Reports each generated group to `events` as a line of news.
ObedienceReport check_obedience(const ObedienceConfig& config, EventSink* events = nullptr);

}  // namespace scintigen::gen
