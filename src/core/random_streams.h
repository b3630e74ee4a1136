// The named random streams: every seeded draw outside the simulator's pixels takes its generator
// from here, as a pure function of (seed, stream, index), so no two uses share a stream and no
// magic salt hides in a source file.
//
//   Rng rng = stream_rng(config.seed, RandomStream::kClfEpochSampler, epoch);
//
// stream_rng(seed, s, i) is Rng::for_scan(seed, i, s) (core/rng.h): xoshiro256** seeded by
// SplitMix64 of (seed, index, stream). A new use takes a new number here; changing a number (or
// the derivation) changes every result drawn from that stream, so the tests pinning those
// results must be regenerated with it.
//
// Seeds derived elsewhere (values fixed; listed so that no stream here is mistaken for them):
//   - the simulator: Rng::for_scan(site_seed(site, seed), scan, 1 | 2), the two streams below;
//     its anatomy and texture generators, Rng(splitmix64(anatomy_seed ^ salt)) in
//     src/phantom/anatomy.cc and render.cc;
//   - the generator's training step (dropout, times, noise): a torch CPU generator seeded with
//     gen::step_seed(seed, step) = splitmix64(splitmix64(seed) ^ step) (src/gen/trainer.cc);
//     `generate` seeds scan k's noise the same way, draws its label fill from
//     splitmix64(splitmix64(seed ^ 0xF111) ^ k) and its count rounding from seeds[0] ^ 0x9015
//     (src/gen/generate.cc); the training sample grids use seeds 1000 + i (train_loop.cc), the
//     obedience check step_seed(seed + 7919 * group, k) (obedience.cc);
//   - torch::manual_seed(seed) for weight initialisation (clf, gen);
//   - the ROC bootstrap: std::mt19937_64(seed) with its own rejection sampling (src/stats/roc.cc).
// The shipped model, the phantom tests and the generation tests depend on these values.
#pragma once

#include <cstdint>
#include <string>

#include "core/rng.h"

namespace scintigen {

enum class RandomStream : uint64_t {
  // Simulator (src/phantom/simulate.cc), index = scan index, seed = site_seed(site, seed).
  kSimPatient = 1,  // a scan's patient parameters (Rng::kPatientStream)
  kSimNoise = 2,    // a scan's Poisson noise (Rng::kNoiseStream)
  // Classifier (src/clf/train.cc), seed = --seed.
  kClfEpochSampler = 11,  // index = epoch: the class-balanced sampler's draws of that epoch
  kClfAugment = 12,       // index = epoch: the augmentation's draws of that epoch
  kClfValSplit = 13,      // index = stratum (core/split.h): the seeded validation split
  // Datasets (src/pipeline/dataset_ops.cc), seed = --seed.
  kDatasetSplit = 21,  // index = stratum (core/split.h): `scintigen dataset split`
  // Generator training (src/gen/train_data.cc), seed = --seed.
  kGenValSplit = 31,   // index = stratum (core/split.h): the random validation fraction
  kGenDataOrder = 32,  // index = epoch: the permutation of the training scans in that epoch
  // Generation (src/gen/generate.cc), seed = the scan's seed step_seed(--seed, k), index 0.
  kGenCounts = 33,  // a generated scan's Poisson counts around its generated expectation
  // Audit (src/audit), seed = --seed.
  kAuditHalves = 41,     // index = stratum (core/split.h): the two halves of --real (baseline)
  kAuditFolds = 42,      // index = stratum (core/split.h): cross-validation folds by subject
  kAuditBootstrap = 43,  // index = replicate: bootstrap resampling of a metric
  kAuditSubsets = 44,    // index = subset: the kernel distance's subsets
  kAuditSubsample = 45,  // index = use: a seeded subsample (matched sizes, capped sets)
  kAuditNoise = 46,      // index = time x draw: the membership attack's fixed diffusion noise
  kAuditEncoder = 47,    // index = use: the encoder's held-out split and probe folds
  // Reader study (src/reader), seed = --seed.
  kReaderBootstrap = 51,         // index = replicate: the report's reader x case bootstrap
  kReaderSelect = 52,            // index = stratum: which scans of a matching stratum become cases
  kReaderOrder = 53,             // index = reader (create order): that reader's reading order
  kReaderBootstrapReaders = 54,  // index = replicate: the report's readers-only bootstrap (cases fixed)
  kReaderBootstrapCases = 55,    // index = replicate: the report's cases-only bootstrap (readers fixed)
  // Study (src/study), seed = the study's seed.
  kStudyBootstrap = 61,  // index = replicate: the analysis's hierarchical bootstrap
  kStudySeed = 62,       // index = fnv1a64(a stage's name): the seed a stage's run gets
};

// The generator of (seed, stream, index): independent of every other (seed, stream, index).
inline Rng stream_rng(uint64_t seed, RandomStream stream, uint64_t index = 0) {
  return Rng::for_scan(seed, index, static_cast<uint64_t>(stream));
}

// FNV-1a (64 bit) of a name's bytes: how a name becomes a seed or an index, portably (unlike
// std::hash). The simulator's site seed and the split's strata use it.
inline uint64_t fnv1a64(const std::string& name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

static_assert(static_cast<uint64_t>(RandomStream::kSimPatient) == Rng::kPatientStream,
              "the simulator's values are fixed");
static_assert(static_cast<uint64_t>(RandomStream::kSimNoise) == Rng::kNoiseStream, "the simulator's values are fixed");

}  // namespace scintigen
