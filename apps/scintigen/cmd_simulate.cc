#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>

#include "cli_util.h"
#include "console.h"
#include "commands.h"
#include "core/error.h"
#include "core/fs_util.h"
#include "core/progress.h"
#include "data/dataset.h"
#include "phantom/phantom.h"
#include "run_guard.h"

namespace fs = std::filesystem;

namespace scintigen::cli {

namespace {

// The output must not exist yet; its missing parent folders are created, and the parent must
// be writable.
void check_output(const std::string& out) {
  std::error_code ec;
  if (out.empty()) throw ConfigError("--out", "is empty", "give the dataset folder to create");
  if (fs::exists(out, ec))
    throw InputError(out, "already exists; simulate writes a new dataset", "choose a new --out or remove the old one");
  create_parent_folders(out);
  fs::path parent = fs::path(out).parent_path();
  if (parent.empty()) parent = ".";
  if (::access(parent.c_str(), W_OK) != 0)
    throw InputError(out, "cannot create the dataset: folder '" + parent.string() + "' is not writable",
                     "choose a writable location for --out");
}

}  // namespace

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
  app.add_option("--site", site_name, "site profile: a name in configs/sites/ or a path to a .json profile")->required();
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
  cfg.validate();
  check_output(out);

  nlohmann::json config = {{"command", "simulate"}, {"site_profile", site.to_json()}, {"simulation", cfg.to_json()}};
  const std::string tmp = out + ".tmp-" + std::to_string(::getpid());
  size_t n = 0, metastatic = 0, attr = 0;
  try {
    Dataset ds = Dataset::create(tmp, config);
    const auto count = phantom::shard_indices(cfg.n, cfg.shard_index, cfg.shard_count).size();
    Console console(quiet);
    Progress progress(&console, "simulate", count);
    phantom::simulate(
        site, cfg,
        [&](Scan&& s) {
          metastatic += s.labels.metastasis.value_or(0);
          attr += s.labels.cardiac_grade.value_or(0) >= 2;
          ds.add(s);
          if (++n % 64 == 0) ds.commit();
        },
        [&] { progress.advance(); });
    ds.commit();
    ds.log_event("simulate", config);
    progress.finish();
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  std::error_code ec;
  fs::rename(tmp, out, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    throw InputError(out, "cannot move the finished dataset into place: " + ec.message(), "check --out");
  }
  if (json) {
    std::printf("%s\n", nlohmann::json({{"out", out},
                                        {"scans", n},
                                        {"metastatic", metastatic},
                                        {"cardiac_grade_2_3", attr},
                                        {"site", site.name},
                                        {"simulation", cfg.to_json()}})
                            .dump(2)
                            .c_str());
  } else if (!quiet) {
    std::printf("simulated %zu scans (site %s, shard %d/%d, seed %llu: %zu metastatic, %zu cardiac grade 2-3) into %s\n", n,
                site.name.c_str(), cfg.shard_index, cfg.shard_count, static_cast<unsigned long long>(cfg.seed), metastatic,
                attr, out.c_str());
  }
  return kExitOk;
}

}  // namespace scintigen::cli
