// The tensor side of the run harness (run/run.h), for src/clf and src/gen: devices and
// checkpoint archives.
//
//   torch::Device device = resolve_device(config.device);        // cpu | cuda | cuda:N | auto
//   torch::serialize::OutputArchive a;  net->save(a);
//   save_checkpoint(out, a, {{"step", 250}});                       // OUT/checkpoint/, atomic
//   torch::serialize::InputArchive in;
//   nlohmann::json state = load_checkpoint(*find_checkpoint(out), in);
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>

#include "run/run.h"

namespace scintigen::run {

// A device for a name parse_device_name accepts. ConfigError naming `where` when CUDA (or
// device N) is asked for and LibTorch has none; "auto" falls back to the CPU.
torch::Device resolve_device(const std::string& name, const std::string& where = "--device");

// Writes `tensors` and `state` as OUT/checkpoint/ (write_checkpoint).
void save_checkpoint(const std::string& out, torch::serialize::OutputArchive& tensors, const nlohmann::json& state);
// Reads the checkpoint's archive into `tensors` (on `device`, or where it was saved) and
// returns its state. InputError naming the archive when LibTorch cannot read it.
nlohmann::json load_checkpoint(const Checkpoint& checkpoint, torch::serialize::InputArchive& tensors,
                               c10::optional<torch::Device> device = c10::nullopt);

}  // namespace scintigen::run
