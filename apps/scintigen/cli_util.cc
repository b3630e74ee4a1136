#include "cli_util.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "core/text.h"
#include "gen/model_io.h"
#include "io/png.h"

namespace scintigen::cli {

std::pair<int, int> parse_size(const std::string& text, const std::string& flag) {
  const auto x = text.find_first_of("xX");
  char* e1 = nullptr;
  char* e2 = nullptr;
  if (x != std::string::npos) {
    const std::string a = text.substr(0, x), b = text.substr(x + 1);
    long w = std::strtol(a.c_str(), &e1, 10), h = std::strtol(b.c_str(), &e2, 10);
    if (!a.empty() && !b.empty() && *e1 == '\0' && *e2 == '\0' && w > 0 && h > 0 && w <= 8192 && h <= 8192)
      return {static_cast<int>(w), static_cast<int>(h)};
  }
  throw ConfigError(flag, "invalid size '" + text + "'", "give WIDTHxHEIGHT with 1..8192 each, e.g. 256x1024");
}

std::vector<std::string> split_commas(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& s : items)
    for (auto& piece : split(s, ','))
      if (!piece.empty()) out.push_back(std::move(piece));
  return out;
}

void take_model_sampler(const CLI::App& app, const std::string& model, gen::SamplerConfig& s) {
  const std::optional<gen::SamplerConfig> own = gen::model_sampler(model);
  if (!own) return;
  if (app.count("--sampler") == 0) s.kind = own->kind;
  if (app.count("--spacing") == 0) s.spacing = own->spacing;
  if (app.count("--steps") == 0) s.steps = own->steps;
  if (app.count("--guidance") == 0) s.guidance = own->guidance;
  if (app.count("--guidance-interval") == 0) {
    s.guidance_t_lo = own->guidance_t_lo;
    s.guidance_t_hi = own->guidance_t_hi;
  }
  if (app.count("--guidance-on") == 0) s.guidance_on = own->guidance_on;
  gen::SamplerConfig given = s;
  given.seed = own->seed;
  if (given.to_json() != own->to_json())
    std::fprintf(
        stderr,
        "warning: %s names its own sampler (%s); the flags given depart from it, so its scans are not the ones "
        "it was trained or chosen to make\n",
        model.c_str(), own->to_json().dump().c_str());
}

gen::TrainCallbacks png_sheet_callbacks() {
  gen::TrainCallbacks cb;
  cb.write_sheet = [](const std::vector<Scan>& scans, const std::vector<std::string>& captions,
                      const std::string& path) {
    std::vector<const Scan*> ptrs;
    for (const auto& s : scans) ptrs.push_back(&s);
    ContactSheetOptions o;
    o.columns = 5;
    write_contact_sheet(ptrs, captions, path, o);
  };
  return cb;
}

}  // namespace scintigen::cli
