// Throughput of the conditional model: training images/s (forward + backward + AdamW + EMA, the
// Trainer's step) and generation scans/s (DPM-Solver++(2M), guidance, the given steps).
//
//   gen_bench <preset | config.json> <batch> <train_steps> <gen_scans> <sampler_steps> [threads] [bf16 0|1] [cpu|cuda]
//
// On CUDA every timed region ends with a device synchronisation (each training step already
// waits for its loss). scripts/gpu/bench.sh runs it on a GPU machine.
// Prints one JSON line; bench/gen_python_baseline.py runs the same model and loop in PyTorch.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "gen/config.h"
#include "gen/sampler.h"
#include "gen/trainer.h"

using namespace scintigen::gen;

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr,
                 "usage: gen_bench <preset|config.json> <batch> <train_steps> <gen_scans> <sampler_steps> [threads] "
                 "[bf16] [cpu|cuda]\n");
    return 2;
  }
  const std::string which = argv[1];
  ModelConfig cfg;
  if (which.size() > 5 && which.substr(which.size() - 5) == ".json") {
    std::ifstream f(which);
    cfg = ModelConfig::from_json(nlohmann::json::parse(f), which);
  } else {
    cfg = model_preset(which);
  }
  const int batch = std::stoi(argv[2]), train_steps = std::stoi(argv[3]), gen_scans = std::stoi(argv[4]),
            sampler_steps = std::stoi(argv[5]);
  if (argc > 6) torch::set_num_threads(std::stoi(argv[6]));
  TrainConfig tc;
  tc.steps = 1000000;
  tc.warmup_steps = 10;
  tc.bf16 = argc > 7 && std::string(argv[7]) == "1";
  const torch::Device device = argc > 8 && std::string(argv[8]) == "cuda" ? torch::kCUDA : torch::kCPU;
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  Trainer tr(cfg, tc, device);
  const int A = static_cast<int>(cfg.conditions.size());
  auto x0 = torch::randn({batch, 2, cfg.height, cfg.width}).to(device);
  auto cond = torch::ones({batch, A}, torch::kLong).to(device);
  using clk = std::chrono::steady_clock;
  tr.step(x0, cond);  // warm-up (and cuDNN's algorithm choice)
  tr.step(x0, cond);
  sync();
  auto t0 = clk::now();
  for (int i = 0; i < train_steps; ++i) tr.step(x0, cond);
  sync();
  const double train_s = std::chrono::duration<double>(clk::now() - t0).count();
  double gen_s = 0;
  if (gen_scans > 0) {
    SamplerConfig sc;
    sc.steps = sampler_steps;
    sc.guidance = 2.0;
    auto d = with_guidance(model_denoiser(tr.ema(), Schedule::from(cfg)), sc.guidance);
    auto c = torch::ones({gen_scans, A}, torch::kLong).to(device);
    if (device.is_cuda()) {  // warm-up: cuDNN's algorithm choice for the inference shapes
      SamplerConfig w = sc;
      w.steps = 1;
      sample(d, Schedule::from(cfg), w, c, {gen_scans, 2, cfg.height, cfg.width});
      sync();
    }
    auto t1 = clk::now();
    sample(d, Schedule::from(cfg), sc, c, {gen_scans, 2, cfg.height, cfg.width});
    sync();
    gen_s = std::chrono::duration<double>(clk::now() - t1).count();
  }
  nlohmann::json out = {{"preset", cfg.preset},
                        {"params", tr.model()->parameter_count()},
                        {"batch", batch},
                        {"threads", torch::get_num_threads()},
                        {"bf16", tc.bf16},
                        {"device", device.str()},
                        {"train_images_per_s", batch * train_steps / train_s},
                        {"gen_scans_per_s", gen_scans > 0 ? gen_scans / gen_s : 0.0},
                        {"sampler_steps", sampler_steps}};
  std::printf("%s\n", out.dump().c_str());
}
