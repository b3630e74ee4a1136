#include "run/torch.h"

#include <fmt/format.h>

#include <sstream>

#include "core/error.h"

namespace scintigen::run {

torch::Device resolve_device(const std::string& name, const std::string& where) {
  const DeviceName d = parse_device_name(name, where);
  if (d.kind == DeviceName::kCpu) return torch::kCPU;
  const bool cuda = torch::cuda::is_available();
  if (d.kind == DeviceName::kAuto) return cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  if (!cuda)
    throw ConfigError(where, fmt::format("{} requested but no CUDA device is available to this LibTorch", name),
                      "use --device cpu or auto, or build against a CUDA LibTorch (docs/GPU.md)");
  if (d.index < 0) return torch::Device(torch::kCUDA);
  const int count = static_cast<int>(torch::cuda::device_count());
  if (d.index >= count)
    throw ConfigError(
        where, fmt::format("{} requested but LibTorch sees {} CUDA device(s), cuda:0..cuda:{}", name, count, count - 1),
        "give a device index below the count (CUDA_VISIBLE_DEVICES renumbers them)");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(d.index));
}

void save_checkpoint(const std::string& out, torch::serialize::OutputArchive& tensors, const nlohmann::json& state) {
  std::ostringstream os;
  tensors.save_to(os);
  write_checkpoint(out, os.str(), state);
}

nlohmann::json load_checkpoint(const Checkpoint& checkpoint, torch::serialize::InputArchive& tensors,
                               c10::optional<torch::Device> device) {
  try {
    tensors.load_from(checkpoint.tensors, device);
  } catch (const c10::Error& e) {
    throw InputError(checkpoint.tensors,
                     fmt::format("cannot be read: {}", std::string(e.what_without_backtrace()).substr(0, 300)),
                     "the checkpoint is damaged: delete the checkpoint folder to restart the run from its beginning");
  }
  return checkpoint.state;
}

}  // namespace scintigen::run
