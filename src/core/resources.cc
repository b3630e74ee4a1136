#include "core/resources.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "core/error.h"

namespace fs = std::filesystem;

namespace scintigen {

namespace {

struct Entry {
  const char* relative;
  const char* variable;
};

Entry entry(Resource r) {
  switch (r) {
    case Resource::kBuiltinModel:
      return {"models/builtin", "SCINTIGEN_BUILTIN_MODEL"};
    case Resource::kSites:
      return {"configs/sites", "SCINTIGEN_SITES_DIR"};
    case Resource::kWeb:
      return {"web", "SCINTIGEN_WEB_DIR"};
  }
  throw InternalError("resources", "unknown resource");
}

}  // namespace

std::string build_source_dir() {
#ifdef SCINTIGEN_SOURCE_DIR
  return SCINTIGEN_SOURCE_DIR;
#else
  return "";
#endif
}

std::string executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "" : exe.parent_path().string();
}

ResourceLookup find_resource(Resource r) {
  const Entry e = entry(r);
  ResourceLookup l{e.relative, e.variable, std::nullopt, {}, false};
  if (const char* env = std::getenv(e.variable); env && *env) {
    // An explicit choice is final: a wrong variable must not silently fall back elsewhere.
    l.searched.push_back(env);
    l.from_variable = true;
    if (fs::is_directory(env)) l.found = env;
    return l;
  }
  if (const std::string exe = executable_dir(); !exe.empty())
    l.searched.push_back((fs::path(exe).parent_path() / "share/scintigen" / e.relative).string());
  if (const std::string src = build_source_dir(); !src.empty()) l.searched.push_back(src + "/" + e.relative);
  for (const auto& candidate : l.searched) {
    std::error_code ec;
    if (fs::is_directory(candidate, ec)) {
      l.found = candidate;
      break;
    }
  }
  return l;
}

std::string resource_dir(Resource r) {
  const ResourceLookup l = find_resource(r);
  if (l.found) return *l.found;
  if (l.from_variable) return l.searched.front();
  std::string places;
  for (const auto& s : l.searched) places += (places.empty() ? "" : ", ") + s;
  throw ConfigError(l.relative, "not found (searched: " + places + ")",
                    "reinstall scintigen (cmake --install), or set " + l.variable + " to the folder");
}

}  // namespace scintigen
