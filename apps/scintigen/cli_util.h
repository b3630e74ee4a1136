// Small helpers shared by the subcommand files.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "gen/sampler_config.h"
#include "gen/train_loop.h"

namespace CLI {
class App;
}

namespace scintigen::cli {

// Parses "WxH" (e.g. "256x1024"); throws ConfigError naming `flag`.
std::pair<int, int> parse_size(const std::string& text, const std::string& flag);

// Values of a repeatable flag whose items may also be comma-separated: {"a,b", "c"} -> a, b, c.
std::vector<std::string> split_commas(const std::vector<std::string>& items);

// The sampler settings `model` names as its own (a distilled model's, gen::model_sampler) for
// every sampler flag of `app` left out (--sampler, --spacing, --steps, --guidance,
// --guidance-interval); a flag given keeps its value. The seed stays as given.
void take_model_sampler(const CLI::App& app, const std::string& model, gen::SamplerConfig& s);

// The training loops' sheet writer (gen::TrainCallbacks::write_sheet): a PNG contact sheet of
// five columns (io/png.h).
gen::TrainCallbacks png_sheet_callbacks();

}  // namespace scintigen::cli
