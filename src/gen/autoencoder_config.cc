#include "gen/autoencoder_config.h"

#include <cmath>
#include <set>

#include "core/error.h"

namespace scintigen::gen {

void AutoencoderConfig::validate() const {
  auto fail = [](const std::string& field, const std::string& what, const std::string& hint) {
    throw ConfigError("autoencoder config", field + ": " + what, hint);
  };
  if (channel_mult.empty() || channel_mult.size() > 5)
    fail("channel_mult", "has " + std::to_string(channel_mult.size()) + " levels",
         "give 1 to 5 multipliers (downsampling by 2 between levels)");
  for (int m : channel_mult)
    if (m < 1 || m > 16) fail("channel_mult", "holds " + std::to_string(m), "each multiplier must be in 1..16");
  if (base_channels < 1 || base_channels > 1024)
    fail("base_channels", "is " + std::to_string(base_channels), "must be in 1..1024");
  if (groups < 1) fail("groups", "is " + std::to_string(groups), "must be >= 1");
  for (int m : channel_mult)
    if ((base_channels * m) % groups)
      fail("groups", std::to_string(groups) + " does not divide " + std::to_string(base_channels * m) + " channels",
           "choose groups dividing base_channels * every multiplier");
  if (res_blocks < 1 || res_blocks > 8) fail("res_blocks", "is " + std::to_string(res_blocks), "must be in 1..8");
  if (latent_channels < 1 || latent_channels > 64)
    fail("latent_channels", "is " + std::to_string(latent_channels), "must be in 1..64");
  if (height % factor() || width % factor() || latent_height() < 2 || latent_width() < 2)
    fail("height/width",
         std::to_string(height) + " x " + std::to_string(width) +
             " does not divide into a latent grid of at least 2 x 2 by the factor " + std::to_string(factor()),
         "use a grid whose sides are multiples of the factor 2^(levels-1), e.g. 256 x 64");
  if (!(transform.count_max > 0) || !std::isfinite(transform.count_max))
    fail("transform.count_max", "is " + std::to_string(transform.count_max), "must be > 0");
}

namespace {

// The plain fields, each with its JSON key: one list drives to_json, from_json and the
// unknown-key check.
template <typename Config, typename F>
void visit_fields(Config& c, F&& f) {
  f("height", c.height);
  f("width", c.width);
  f("base_channels", c.base_channels);
  f("channel_mult", c.channel_mult);
  f("res_blocks", c.res_blocks);
  f("latent_channels", c.latent_channels);
  f("groups", c.groups);
}

}  // namespace

nlohmann::json AutoencoderConfig::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  visit_fields(*this, [&](const char* key, const auto& value) { j[key] = value; });
  j["transform"] = {{"kind", "anscombe"}, {"count_max", transform.count_max}};
  return j;
}

AutoencoderConfig AutoencoderConfig::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw ConfigError(where, "autoencoder config is not a JSON object");
  AutoencoderConfig c;
  std::set<std::string> known = {"transform"};
  visit_fields(c, [&](const char* key, const auto&) { known.insert(key); });
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key()))
      throw ConfigError(where, "unknown key '" + it.key() + "' in autoencoder config", "remove it or fix its spelling");
  visit_fields(c, [&](const char* key, auto& out) {
    if (!j.contains(key)) return;
    try {
      out = j.at(key).get<std::decay_t<decltype(out)>>();
    } catch (const nlohmann::json::exception&) {
      throw ConfigError(where, std::string("key '") + key + "' has the wrong type: " + j.at(key).dump(),
                        "see docs/MODEL.md, 'Latent diffusion'");
    }
  });
  if (j.contains("transform")) {
    const auto& t = j.at("transform");
    if (!t.is_object() || t.value("kind", "anscombe") != "anscombe" || !t.contains("count_max") ||
        !t.at("count_max").is_number())
      throw ConfigError(where, "key 'transform' is malformed", "expected {\"kind\": \"anscombe\", \"count_max\": N}");
    c.transform.count_max = t.at("count_max").get<double>();
  }
  c.validate();
  return c;
}

}  // namespace scintigen::gen
