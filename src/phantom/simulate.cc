// Whole runs: deterministic per (seed, index), parallel, sharded.
#include "core/error.h"
#include "core/parallel.h"
#include "phantom/anatomy.h"
#include "phantom/phantom.h"

namespace scintigen::phantom {

Scan simulate_one(const SiteProfile& site, const SimConfig& cfg, uint64_t index) {
  Rng patient_rng = Rng::for_scan(cfg.seed, index, Rng::kPatientStream);
  const PatientParams p = sample_patient(site, cfg.prevalence, patient_rng);
  Scan s = render_expected_unhashed(p, site, cfg.size, RenderOptions{});
  if (cfg.noise) {
    Rng noise_rng = Rng::for_scan(cfg.seed, index, Rng::kNoiseStream);
    add_poisson_noise_unhashed(s, noise_rng);
  }
  s.pixel_sha256 = compute_pixel_sha256(s);
  s.id = scan_id(index);
  s.source = "phantom:site=" + site.name + " seed=" + std::to_string(cfg.seed) + " index=" + std::to_string(index);
  s.meta["index"] = index;
  s.meta["seed"] = cfg.seed;
  return s;
}

size_t simulate(const SiteProfile& site, const SimConfig& cfg, const std::function<void(Scan&&)>& sink,
                const std::function<void()>& progress) {
  cfg.validate();
  const std::vector<uint64_t> idx = shard_indices(cfg.n, cfg.shard_index, cfg.shard_count);
  const int threads = resolve_threads(cfg.threads);
  parallel_ordered<Scan>(
      idx.size(), threads, static_cast<size_t>(4 * threads), [&](size_t i) { return simulate_one(site, cfg, idx[i]); },
      [&](size_t, Scan&& s) {
        sink(std::move(s));
        if (progress) progress();
      });
  return idx.size();
}

}  // namespace scintigen::phantom
