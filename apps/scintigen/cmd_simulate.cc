// `scintigen simulate`: flags into a phantom::SimConfig, then pipeline::simulate_dataset.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli_util.h"
#include "commands.h"
#include "console.h"
#include "core/error.h"
#include "phantom/phantom.h"
#include "pipeline/simulate.h"
#include "run_guard.h"

namespace scintigen::cli {

int cmd_simulate(int argc, char** argv) {
  CLI::App app(
      "Simulate labelled whole-body bone scans (anterior + posterior, Poisson counts) with the physics-based\n"
      "phantom: anatomy, tracer kinetics, attenuation, collimator blur, scatter, metastases, cardiac amyloidosis,\n"
      "confounders and outcomes, as acquired at one site profile (configs/sites/, docs/SIMULATOR.md).\n"
      "Scan i is a pure function of (site, seed, i): ids are sim<index>, so --shard runs merge into the\n"
      "unsharded dataset. Exit status: 0 done, 2 bad input (nothing is left behind).",
      "scintigen simulate");
  phantom::SimConfig cfg;
  std::string site_name, prevalence, shard, size, out;
  bool quiet = false, json = false, noiseless = false;
  app.add_option("--n,-n", cfg.n, "number of scans in the whole run (indices 0..n-1)")->required();
  app.add_option("--site", site_name, "site profile: a name in configs/sites/ or a path to a .json profile")
      ->required();
  app.add_option("--out,-o", out, "dataset folder to create (must not exist)")->required();
  app.add_option("--prevalence", prevalence,
                 "override the profile's prevalence, e.g. "
                 "\"metastasis=0.3,cardiac_grade=0:0.9/1:0.04/2:0.03/3:0.03,superscan=0.1\"");
  app.add_option("--seed", cfg.seed, "random seed")->capture_default_str();
  app.add_option("--shard", shard, "i/n: simulate only indices i, i+n, i+2n, ... (default 0/1)");
  app.add_option("--size", size, "output grid WIDTHxHEIGHT (default: the camera's native matrix)");
  app.add_option("--threads", cfg.threads, "threads (0 = all cores)")->capture_default_str();
  app.add_flag("--noiseless", noiseless, "store the noiseless expected counts (float) instead of Poisson counts");
  app.add_flag("--quiet,-q", quiet, "no progress bar");
  app.add_flag("--json", json, "print a JSON summary on stdout");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;

  const phantom::SiteProfile site = phantom::load_site_profile(site_name);
  if (!prevalence.empty()) cfg.prevalence = phantom::parse_prevalence(prevalence);
  if (!shard.empty()) std::tie(cfg.shard_index, cfg.shard_count) = phantom::parse_shard(shard);
  if (!size.empty()) std::tie(cfg.size.width, cfg.size.height) = parse_size(size, "--size");
  cfg.noise = !noiseless;
  SimulateResult r;
  {
    Console console(quiet);  // closes its progress line before the summary below
    r = simulate_dataset(site, cfg, out, &console);
  }
  if (json) {
    std::printf("%s\n", nlohmann::json({{"out", out},
                                        {"scans", r.scans},
                                        {"metastatic", r.metastatic},
                                        {"cardiac_grade_2_3", r.cardiac_grade_2_3},
                                        {"site", site.name},
                                        {"simulation", cfg.to_json()}})
                            .dump(2)
                            .c_str());
  } else if (!quiet) {
    std::printf(
        "simulated %zu scans (site %s, shard %d/%d, seed %llu: %zu metastatic, %zu cardiac grade 2-3) into %s\n",
        r.scans, site.name.c_str(), cfg.shard_index, cfg.shard_count, static_cast<unsigned long long>(cfg.seed),
        r.metastatic, r.cardiac_grade_2_3, out.c_str());
  }
  return kExitOk;
}

}  // namespace scintigen::cli
