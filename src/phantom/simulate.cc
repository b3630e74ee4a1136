// Whole runs: deterministic per (site, seed, index), parallel, sharded.
#include "core/error.h"
#include "core/parallel.h"
#include "core/random_streams.h"
#include "core/splitmix.h"
#include "phantom/anatomy.h"
#include "phantom/phantom.h"

namespace scintigen::phantom {

uint64_t site_seed(const std::string& site_name, uint64_t seed) {
  // FNV-1a over the name's bytes, then mixed with the seed.
  return splitmix64(splitmix64(fnv1a64(site_name)) ^ seed);
}

Scan simulate_one(const SiteProfile& site, const SimConfig& cfg, uint64_t index) {
  const uint64_t stream_seed = site_seed(site.name, cfg.seed);
  Rng patient_rng = stream_rng(stream_seed, RandomStream::kSimPatient, index);
  const PatientParams p = sample_patient(site, cfg.prevalence, patient_rng);
  Scan s = render_expected_unhashed(p, site, cfg.size, RenderOptions{});
  if (cfg.noise) {
    Rng noise_rng = stream_rng(stream_seed, RandomStream::kSimNoise, index);
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
