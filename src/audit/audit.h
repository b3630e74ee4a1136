// `scintigen audit`: is a synthetic set faithful, diverse, correctly labelled and private?
//
//   AuditConfig c;
//   c.real = "real_heldout";  c.synthetic = "syn";  c.train = "gen_train";  c.encoder = "enc";
//   c.out = "audit";
//   nlohmann::json a = run_audit(c, &sink);   // also written to audit/audit.json
//
// Sections (docs/AUDIT.md; every threshold below is fixed here, before any result, and written
// into the report beside its verdict):
//   fidelity     in the encoder's feature space: Fréchet distance, kernel distance (unbiased
//                MMD^2, cubic kernel), precision/recall (k = 3), density/coverage (k = 5), each
//                with a percentile bootstrap CI; beside the real-vs-real baseline: --real cut
//                into two seeded halves A and B by subject, and the synthetic set subsampled to
//                |B| compared with A ("matched"), so both sides of the comparison have the same
//                sizes. Overall and per condition (metastasis, Perugini grade, tracer, sex).
//                Verdict: matched FD within the baseline's CI upper bound, and precision and
//                recall at least the baseline's CI lower bounds.
//   image_stats  plain statistics per scan (total counts, bone-to-soft-tissue ratio, body length,
//                high-frequency excess over Poisson, count histogram) as distribution distances
//                (KS, Wasserstein-1 / sd of real, total variation), with the A-vs-B baseline.
//   c2st         classifier two-sample test: ridge logistic regression on the encoder features
//                (which hold the image statistics), 5-fold cross-validation with folds by subject,
//                out-of-fold AUC with DeLong CI. Verdict: pass when AUC <= 0.55 or the CI covers
//                0.5.
//   label_fidelity  per label (metastasis; Perugini >= 2; grade g vs 0): a probe trained on real
//                features scores the synthetic scans (AUC, DeLong CI) beside its cross-validated
//                AUC on real scans; train-on-synthetic-test-on-real AUC. Verdict per label:
//                pass when the synthetic AUC's CI reaches the real AUC's CI (the unpaired
//                DeLong test of their difference has p >= 0.05).
//   memorisation (with --train) each synthetic scan's nearest and second-nearest training scan
//                in encoder space and in pixel space (sqrt of counts scaled to 1e6 per scan,
//                +-1 pixel shifts); the copy threshold of each space is the smaller of the 0.05%
//                quantile of the held-out real scans' (--real) nearest-training distances, from a
//                normal fit to their logarithms, and the smallest of those distances; flagged =
//                below the threshold in either space (a new patient: probability <= 0.1% where
//                the fit holds, <= 2 / (n + 1) in any case). The held-out scans below the
//                fitted thresholds are reported as the fit's check. Verdict: pass unless more scans
//                are flagged than new patients would be (binomial tail, rate 0.1%, p < 0.05).
//   membership   (with --train) a generator attack: the model's denoising loss (gen/membership.h)
//                on training vs held-out real scans, AUC(-loss) with DeLong CI (0.5 = no leak);
//                and a distance attack that sees only the synthetic set: AUC(-distance to the
//                nearest synthetic scan in encoder space). Verdict: pass when each AUC's CI
//                covers 0.5 or the AUC is <= 0.55.
//
// Headline keys (the contract, flat numbers): c2st.auc, c2st.ci_lower, c2st.ci_upper,
// fd, fd_baseline, kd, precision, recall, density, coverage, memorisation.flagged,
// memorisation.fraction, membership.auc, label_fidelity.<label>.auc. Detailed blocks use the
// statistics JSON scheme (docs/STATS.md): {"estimate", "ci": {level, lower, upper, method}}.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"

namespace scintigen::audit {

inline constexpr const char* kAuditFormat = "scintigen-audit";
inline constexpr int kAuditFormatVersion = 1;

// The sections, in report order; --skip takes their names.
const std::vector<std::string>& audit_sections();

struct AuditConfig {
  std::string real;               // real scans the generator never saw (required)
  std::string synthetic;          // the synthetic set (required)
  std::string train;              // the generator's training scans (memorisation, membership)
  std::string model;              // the generator; "" = the one named in the synthetic set's dataset.json
  std::string encoder;            // encoder folder (audit/encoder.h); required for the feature-space sections
  std::string out;                // audit folder to create
  std::vector<std::string> skip;  // sections to leave out
  uint64_t seed = 0;
  int bootstrap = 200;  // bootstrap replicates of every CI
  double conf_level = 0.95;
  int folds = 5;               // cross-validation folds (c2st, label fidelity)
  double c = 1.0;              // ridge logistic regression: scikit-learn's C (inverse penalty)
  int min_per_condition = 20;  // scans of a condition on each side before its metrics are computed
  int kd_subsets = 100;
  int kd_subset_size = 1000;
  // Membership: scans per side (training, held-out) scored by the generator (its cost is
  // times x draws network passes per scan), the diffusion times and noise draws.
  int membership_n = 200;
  std::vector<double> membership_times = {0.1, 0.3, 0.5, 0.7};
  int membership_draws = 2;
  int closest_pairs = 12;  // pairs on the closest-pair sheet
  int batch = 64;
  int threads = 0;
  std::string device = "cpu";

  bool runs(const std::string& section) const;  // not skipped
  void validate() const;                        // throws ConfigError naming the flag
  nlohmann::json to_json() const;
};

// Runs the audit, writes OUT/audit.json atomically and returns it. OUT/closest_pairs.json
// lists the closest pairs (dataset, scan id, distance) for the sheet the app renders. Throws
// InputError for unusable input (grids differ, too few scans, a synthetic set without labels
// for label fidelity, no encoder) before anything is written.
nlohmann::json run_audit(const AuditConfig& config, EventSink* events = nullptr);

}  // namespace scintigen::audit
