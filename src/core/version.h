// Version of scintigen and of the libraries that shaped an artefact, for provenance records.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace scintigen {

std::string scintigen_version();
// {"scintigen": "...", "compiler": "...", "build_type": ...}; modules add their own entries.
nlohmann::json core_versions();
// ISO-8601 UTC time now, e.g. "2026-11-27T02:21:10Z".
std::string utc_now_iso8601();

}  // namespace scintigen
