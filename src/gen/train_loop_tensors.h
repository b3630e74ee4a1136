// The tensor side of the training loop (train_loop.h), inside src/gen and its tests.
#pragma once

#include <torch/torch.h>

#include "gen/config.h"
#include "gen/sampler.h"
#include "gen/train_config.h"
#include "gen/train_data.h"
#include "gen/unet.h"

namespace scintigen::gen {

// Validation loss of `net` on `set` (model space): the v-loss at 8 fixed times per scan with
// noise from a fixed seed, conditions kept, so values are comparable across steps and runs.
double validation_loss(UNet& net, const ModelConfig& cfg, const ScanSet& set, int batch, const torch::Device& device,
                       bool bf16);

// Validation loss of a distilled student `net` on `set`: the distillation loss (distill.h) toward
// `teacher` (already guided), each scan at each of the student's steps once, with noise from a
// fixed seed, conditions kept.
double distill_validation_loss(UNet& net, const Denoise& teacher, const ModelConfig& cfg, const DistillConfig& dc,
                               const ScanSet& set, int batch, const torch::Device& device, bool bf16);

}  // namespace scintigen::gen
