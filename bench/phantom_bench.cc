// Simulator throughput: two-view scans per second (Poisson counts, native 256x1024 grid of the
// large_centre profile) on all threads, against a baseline in the same run: the same renderer
// with the direct (non-separable) 2-D collimator blur.
//
//   phantom_bench [N] [THREADS]       e.g. phantom_bench 400 0   (0 = all cores)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "core/parallel.h"
#include "phantom/anatomy.h"
#include "phantom/phantom.h"

using namespace scintigen;
using namespace scintigen::phantom;

namespace {

double scans_per_second(const SiteProfile& site, uint64_t n, int threads, bool reference) {
  SimConfig cfg;
  cfg.n = n;
  cfg.seed = 1;
  cfg.threads = threads;
  RenderOptions opt;
  opt.reference_blur = reference;
  const auto t0 = std::chrono::steady_clock::now();
  double checksum = 0;
  parallel_ordered<Scan>(
      n, resolve_threads(threads), 8,
      [&](size_t i) {
        Rng rng = Rng::for_scan(cfg.seed, i, Rng::kPatientStream);
        const PatientParams p = sample_patient(site, cfg.prevalence, rng);
        Scan s = render_expected(p, site, cfg.size, opt);
        Rng noise = Rng::for_scan(cfg.seed, i, Rng::kNoiseStream);
        add_poisson_noise(s, noise);
        return s;
      },
      [&](size_t, Scan&& s) { checksum += s.pixels[s.pixels.size() / 2]; });
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (checksum < 0) std::printf("impossible\n");
  return n / sec;
}

// Single-thread time per scan (ms) of the two stages: render_expected and add_poisson_noise.
void stage_times(const SiteProfile& site, uint64_t n, double* render_ms, double* noise_ms) {
  using clk = std::chrono::steady_clock;
  double tr = 0, tn = 0, checksum = 0;
  for (uint64_t i = 0; i < n; ++i) {
    Rng rng = Rng::for_scan(1, i, Rng::kPatientStream);
    const PatientParams p = sample_patient(site, PrevalenceOverride{}, rng);
    const auto t0 = clk::now();
    Scan s = render_expected_unhashed(p, site, GridSize{}, RenderOptions{});
    const auto t1 = clk::now();
    Rng noise = Rng::for_scan(1, i, Rng::kNoiseStream);
    add_poisson_noise_unhashed(s, noise);
    const auto t2 = clk::now();
    tr += std::chrono::duration<double>(t1 - t0).count(), tn += std::chrono::duration<double>(t2 - t1).count();
    checksum += s.pixels[s.pixels.size() / 2];
  }
  if (checksum < 0) std::printf("impossible\n");
  *render_ms = 1e3 * tr / n, *noise_ms = 1e3 * tn / n;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 400;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 0;
  const SiteProfile site = load_site_profile("large_centre");
  scans_per_second(site, 16, threads, false);  // warm-up: tables, thread-local buffers
  const double fast = scans_per_second(site, n, threads, false);
  const double fast1 = scans_per_second(site, n / 2, 1, false);
  const double naive = scans_per_second(site, std::max<uint64_t>(8, n / 20), threads, true);
  // Simulate end to end through the library entry point (ids, meta, hashing) as well.
  SimConfig cfg;
  cfg.n = n;
  cfg.threads = threads;
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  size_t got = simulate(site, cfg, [](Scan&&) {});
  const double e2e = got / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu_ms = 1e3 * double(std::clock() - c0) / CLOCKS_PER_SEC / static_cast<double>(got);
  double render_ms, noise_ms;
  stage_times(site, std::max<uint64_t>(20, n / 4), &render_ms, &noise_ms);
  std::printf("phantom_bench: large_centre 256x1024 two-view scans with Poisson noise, %d threads\n",
              resolve_threads(threads));
  std::printf("  render + noise, separable blur, all threads:  %8.1f scans/s\n", fast);
  std::printf("  render + noise, separable blur, 1 thread:     %8.1f scans/s\n", fast1);
  std::printf("  baseline: direct 2-D blur, all threads:       %8.1f scans/s\n", naive);
  std::printf("  speed-up over the baseline:                   %8.1fx\n", fast / naive);
  std::printf("  1 thread, per scan: render %.2f ms, Poisson noise %.2f ms\n", render_ms, noise_ms);
  std::printf("  simulate() end to end (+ ids, meta, sha256):  %8.1f scans/s\n", e2e);
  // Process CPU time per scan: the load-independent figure on a shared machine.
  std::printf("  CPU per scan end to end: %.2f ms -> %.1f scans/s on %d idle cores\n", cpu_ms,
              1e3 * resolve_threads(threads) / cpu_ms, resolve_threads(threads));
  return 0;
}
