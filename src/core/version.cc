#include "core/version.h"

#include <fmt/format.h>

#include <ctime>

namespace scintigen {

std::string scintigen_version() {
  return SCINTIGEN_VERSION;
}

nlohmann::json core_versions() {
  nlohmann::json j;
  j["scintigen"] = SCINTIGEN_VERSION;
#if defined(__clang__)
  j["compiler"] = fmt::format("clang {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  j["compiler"] = fmt::format("gcc {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#endif
  j["nlohmann_json"] =
      fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR, NLOHMANN_JSON_VERSION_PATCH);
  j["fmt"] = FMT_VERSION;
  return j;
}

std::string utc_now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace scintigen
