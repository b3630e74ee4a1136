#include "gen/distributed.h"

#include <torch/version.h>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif
#ifndef SCINTIGEN_NO_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef SCINTIGEN_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>

#include "core/error.h"

namespace scintigen::gen {

struct Distributed::Impl {
  c10::intrusive_ptr<c10d::Store> store;
#if TORCH_VERSION_MAJOR >= 2
  c10::intrusive_ptr<c10d::Backend> pg;  // LibTorch 2.x: ProcessGroupGloo/NCCL are Backends
#else
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
#endif
};

Distributed::~Distributed() = default;

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

int env_int(const char* name, const char* value) {
  try {
    size_t used = 0;
    int v = std::stoi(value, &used);
    if (used != std::string(value).size()) throw std::invalid_argument(value);
    return v;
  } catch (const std::exception&) {
    throw ConfigError(name, std::string("'") + value + "' is not an integer", "set it to a whole number");
  }
}

}  // namespace

std::unique_ptr<Distributed> Distributed::from_environment(const torch::Device& device) {
  static const char* pairs[][2] = {{"RANK", "WORLD_SIZE"},
                                   {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                                   {"PMI_RANK", "PMI_SIZE"},
                                   {"SLURM_PROCID", "SLURM_NTASKS"}};
  for (const auto& p : pairs) {
    const char *r = env(p[0]), *w = env(p[1]);
    if (!r || !w) continue;
    const int rank = env_int(p[0], r), world = env_int(p[1], w);
    if (world == 1) return nullptr;
    const char* addr = env("MASTER_ADDR");
    const char* port = env("MASTER_PORT");
    return connect(rank, world, addr ? addr : "127.0.0.1", port ? env_int("MASTER_PORT", port) : 29500, device);
  }
  return nullptr;
}

std::unique_ptr<Distributed> Distributed::connect(int rank, int world, const std::string& addr, int port,
                                                  const torch::Device& device) {
  if (world < 1 || rank < 0 || rank >= world)
    throw ConfigError("RANK/WORLD_SIZE", fmt::format("rank {} of world size {}", rank, world),
                      "need 0 <= RANK < WORLD_SIZE");
  if (port < 1 || port > 65535) throw ConfigError("MASTER_PORT", std::to_string(port), "must be in 1..65535");
  int timeout_s = 300;
  if (const char* t = env("SCINTIGEN_DIST_TIMEOUT")) timeout_s = env_int("SCINTIGEN_DIST_TIMEOUT", t);
  std::unique_ptr<Distributed> d(new Distributed);
  d->rank_ = rank;
  d->world_ = world;
  d->impl_ = std::make_shared<Impl>();
  try {
    c10d::TCPStoreOptions o;
    o.port = static_cast<uint16_t>(port);
    o.isServer = rank == 0;
    o.numWorkers = world;
    o.waitWorkers = true;
    o.timeout = std::chrono::seconds(timeout_s);
    d->impl_->store = c10::make_intrusive<c10d::TCPStore>(addr, o);
    if (device.is_cuda()) {
#ifdef SCINTIGEN_WITH_NCCL
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      d->impl_->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(d->impl_->store, rank, world, opts);
#else
      throw ConfigError("--device", "cuda with several ranks needs a LibTorch built with NCCL",
                        "build with -DSCINTIGEN_WITH_NCCL=ON against a CUDA LibTorch, or train on the CPU");
#endif
    } else {
#ifdef SCINTIGEN_NO_GLOO
      throw ConfigError("WORLD_SIZE", "several ranks on the CPU need Gloo, which this build lacks",
                        "install libgloo-dev and rebuild");
#else
      auto opts = c10d::ProcessGroupGloo::Options::create();
      opts->timeout = std::chrono::seconds(timeout_s);
      opts->devices.push_back(
          c10d::ProcessGroupGloo::createDeviceForHostname(addr == "localhost" ? "127.0.0.1" : addr));
      d->impl_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(d->impl_->store, rank, world, opts);
#endif
    }
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    throw InputError(fmt::format("{}:{}", addr, port), "distributed rendezvous failed: " + what.substr(0, 300),
                     "check MASTER_ADDR/MASTER_PORT, that every rank was started, and the firewall");
  }
  return d;
}

void Distributed::all_reduce_sum(torch::Tensor& t) {
  std::vector<torch::Tensor> v{t};
  impl_->pg->allreduce(v)->wait();
}

void Distributed::barrier() {
  impl_->pg->barrier()->wait();
}

GradReducer Distributed::reducer() {
  auto impl = impl_;
  const int world = world_;
  return [impl, world](std::vector<torch::Tensor>& grads) {
    size_t i = 0;
    while (i < grads.size()) {
      // One bucket: consecutive gradients of one dtype and device up to kBucketBytes.
      std::vector<torch::Tensor> bucket;
      int64_t bytes = 0;
      while (i < grads.size() && (bucket.empty() || (bytes + grads[i].nbytes() <= static_cast<size_t>(kBucketBytes) &&
                                                     grads[i].scalar_type() == bucket[0].scalar_type()))) {
        bucket.push_back(grads[i]);
        bytes += grads[i].nbytes();
        ++i;
      }
      std::vector<torch::Tensor> flat_parts;
      for (auto& g : bucket) flat_parts.push_back(g.reshape({-1}));
      std::vector<torch::Tensor> flat{torch::cat(flat_parts)};
      impl->pg->allreduce(flat)->wait();
      flat[0].div_(world);
      int64_t off = 0;
      for (auto& g : bucket) {
        const int64_t n = g.numel();
        g.copy_(flat[0].slice(0, off, off + n).view_as(g));
        off += n;
      }
    }
  };
}

}  // namespace scintigen::gen
