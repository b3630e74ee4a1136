// Where scintigen finds the files it ships with, one way for all of them:
//   1. the environment variable of the resource, when set (a folder, used as given);
//   2. the installed layout: <prefix>/share/scintigen/<relative path>, where the running binary is
//      <prefix>/bin/scintigen (`cmake --install build --prefix PREFIX`; the prefix can be moved);
//   3. the source tree the binary was built from, for binaries run from the build folder.
// The first that exists wins.
//
//   load_model(resource_dir(Resource::kBuiltinModel));
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace scintigen {

enum class Resource {
  kBuiltinModel,  // models/builtin, $SCINTIGEN_BUILTIN_MODEL: the shipped generator
  kSites,         // configs/sites, $SCINTIGEN_SITES_DIR: the simulator's site profiles
  kWeb,           // web, $SCINTIGEN_WEB_DIR: the plotting JavaScript the HTML reports inline
};

struct ResourceLookup {
  std::string relative;               // "models/builtin"
  std::string variable;               // "SCINTIGEN_BUILTIN_MODEL"
  std::optional<std::string> found;   // the folder used, if any
  std::vector<std::string> searched;  // the candidates, in order
  bool from_variable = false;         // the variable was set (its folder is the only candidate)
};

ResourceLookup find_resource(Resource r);

// The folder of `r`. A folder named by the variable is returned as given even when it does not
// exist, so that the consumer names the file it lacks; otherwise, when no candidate exists,
// throws ConfigError naming every place searched and the variable to set.
std::string resource_dir(Resource r);

// The source tree this binary was built from ("" when unknown); it may have moved since.
std::string build_source_dir();

// The folder holding the running executable ("" when /proc/self/exe cannot be read).
std::string executable_dir();

}  // namespace scintigen
