#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.h"
#include "core/resources.h"
#include "core/version.h"
#include "io/dicom_read.h"
#include "run_guard.h"

namespace scintigen::cli {

int cmd_version(int argc, char** argv) {
  CLI::App app(
      "Print the versions of scintigen and the libraries it was built with, and where it found the files it ships\n"
      "with (the built-in model, the site profiles, the report's JavaScript; docs/INSTALL.md).\n",
      "scintigen version");
  bool json = false;
  app.add_flag("--json", json, "machine-readable output");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  nlohmann::json v = core_versions();
  v.update(io_versions());
  nlohmann::json resources;
  for (Resource r : {Resource::kBuiltinModel, Resource::kSites, Resource::kWeb}) {
    const ResourceLookup l = find_resource(r);
    resources[l.relative] = l.found ? *l.found : "not found (set " + l.variable + ")";
  }
  if (json) {
    v["resources"] = resources;
    std::printf("%s\n", v.dump(2).c_str());
    return kExitOk;
  }
  for (auto it = v.begin(); it != v.end(); ++it)
    std::printf("%-14s %s\n", it.key().c_str(),
                it.value().is_string() ? it.value().get<std::string>().c_str() : it.value().dump().c_str());
  for (auto it = resources.begin(); it != resources.end(); ++it)
    std::printf("%-14s %s\n", it.key().c_str(), it.value().get<std::string>().c_str());
  return kExitOk;
}

}  // namespace scintigen::cli
