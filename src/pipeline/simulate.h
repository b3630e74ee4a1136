// Simulated scans (src/phantom) written as a new dataset, all or nothing.
//
//   phantom::SimConfig cfg;
//   cfg.n = 200;
//   SimulateResult r = simulate_dataset(phantom::load_site_profile("ext_a"), cfg, "sim/ext_a", &console);
//
// The dataset is built in "<out>.tmp-<pid>" and renamed to `out` once complete, so `out` is
// either absent or a whole dataset; on any failure the temporary folder is removed. `out` must
// not exist; its missing parent folders are created. Throws InputError naming `out` when it
// exists or its folder is not writable, ConfigError for an invalid `cfg`.
#pragma once

#include <cstddef>
#include <string>

#include "core/progress.h"
#include "phantom/phantom.h"

namespace scintigen {

struct SimulateResult {
  size_t scans = 0;
  size_t metastatic = 0;
  size_t cardiac_grade_2_3 = 0;
};

// Progress goes to `events` (task "simulate"); may be null.
SimulateResult simulate_dataset(const phantom::SiteProfile& site, const phantom::SimConfig& cfg, const std::string& out,
                                EventSink* events);

}  // namespace scintigen
