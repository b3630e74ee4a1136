#include "pipeline/simulate.h"

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "pipeline/dataset_ops.h"

namespace scintigen {

SimulateResult simulate_dataset(const phantom::SiteProfile& site, const phantom::SimConfig& cfg, const std::string& out,
                                EventSink* events) {
  cfg.validate();
  const nlohmann::json config = {
      {"command", "simulate"}, {"site_profile", site.to_json()}, {"simulation", cfg.to_json()}};
  SimulateResult r;
  create_dataset_atomically(out, config, [&](Dataset& ds) {
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
  });
  return r;
}

}  // namespace scintigen
