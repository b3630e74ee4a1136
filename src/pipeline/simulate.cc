#include "pipeline/simulate.h"

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs_util.h"
#include "data/dataset.h"

namespace fs = std::filesystem;

namespace scintigen {

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

SimulateResult simulate_dataset(const phantom::SiteProfile& site, const phantom::SimConfig& cfg, const std::string& out,
                                EventSink* events) {
  cfg.validate();
  check_output(out);
  const nlohmann::json config = {
      {"command", "simulate"}, {"site_profile", site.to_json()}, {"simulation", cfg.to_json()}};
  const std::string tmp = out + ".tmp-" + std::to_string(::getpid());
  SimulateResult r;
  try {
    Dataset ds = Dataset::create(tmp, config);
    Progress progress(events, "simulate", phantom::shard_indices(cfg.n, cfg.shard_index, cfg.shard_count).size());
    phantom::simulate(
        site, cfg,
        [&](Scan&& s) {
          r.metastatic += s.labels.metastasis.value_or(0);
          r.cardiac_grade_2_3 += s.labels.cardiac_grade.value_or(0) >= 2;
          ds.add(s);
          if (++r.scans % 64 == 0) ds.commit();
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
  return r;
}

}  // namespace scintigen
