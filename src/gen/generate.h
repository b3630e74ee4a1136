// `scintigen generate`: labelled synthetic scans from a model folder.
//
//   GenerateConfig g;  g.model = "builtin";  g.n = 16;  g.condition = "metastasis=1";  g.out = "syn";
//   GenerateResult r = generate_dataset(g);   // writes the dataset g.out
//
// Scan k of a run (k = 0..n-1) is a function of (model, sampler settings, seed, k) alone: its
// starting noise comes from a generator seeded by (seed, k), its conditions from the request,
// so batch size, thread count and sharding do not change it, and the union of the shards equals the unsharded run (--shard i/n takes
// k = i, i + n, i + 2n, ..., as simulate does).
//
// Labels: the named conditions become the scan's labels. With fill_labels (default), the
// attributes the request leaves unnamed are drawn from the training data's joint distribution
// of conditions restricted to the named values (model.json), so every scan is fully labelled
// and generated as such; without a matching training combination they stay unlabelled.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/scan.h"
#include "gen/config.h"
#include "gen/model_io.h"
#include "gen/sampler.h"
#include "gen/transform.h"

namespace scintigen::gen {

struct MixEntry {
  double weight = 1;
  std::string condition;
};

// Reads a mix file: one "<weight> <condition>" per line, '#' comments and blank lines
// ignored, e.g. "0.3 metastasis=1,tracer=DPD". Conditions are checked against `spec`; errors
// name file:line.
std::vector<MixEntry> read_mix_file(const std::string& path, const ConditionSpec& spec);

// Counts per entry summing to n (largest remainder over the weights).
std::vector<int64_t> mix_counts(const std::vector<MixEntry>& mix, int64_t n);

struct GenerateConfig {
  std::string model = "builtin";
  int64_t n = 16;
  std::string condition;     // "metastasis=1,cardiac_grade=3,tracer=DPD" (may be "")
  std::string mix;           // mix file (instead of condition)
  std::string out;           // dataset folder to create
  SamplerConfig sampler;     // kind, spacing, steps, guidance, seed
  int batch = 16;
  int shard_index = 0, shard_count = 1;
  bool fill_labels = true;
  CountOutput counts = CountOutput::kRound;
  std::string device = "cpu";  // cpu | cuda | auto
  int threads = 0;
  bool bf16 = false;          // bf16 autocast for the network
  bool channels_last = true;  // channels-last weights and inputs on the CPU
  bool quiet = false;

  void validate() const;  // throws ConfigError naming the flag
  nlohmann::json to_json() const;
};

struct GenerateResult {
  size_t scans = 0;
  std::string out;
  std::string model_sha256;
  double seconds = 0, scans_per_s = 0;
  std::vector<std::string> warnings;
};

GenerateResult generate_dataset(const GenerateConfig& config);

// Counts (B, 2, H, W) on the CPU for the given per-scan tokens and seeds (x_T of scan i from a
// generator seeded with seeds[i]).
torch::Tensor generate_counts(UNet& net, const ModelConfig& cfg, const SamplerConfig& sampler,
                              const std::vector<ConditionTokens>& tokens, const std::vector<uint64_t>& seeds,
                              const torch::Device& device, bool bf16, bool channels_last, CountOutput mode);

// A Scan of one generated (2, H, W) counts tensor, labelled from its tokens.
Scan scan_from_counts(const torch::Tensor& counts, const ConditionTokens& tokens, const ConditionSpec& spec);

}  // namespace scintigen::gen
