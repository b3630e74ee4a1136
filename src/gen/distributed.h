// Data-parallel training across processes with torch's c10d: a TCPStore rendezvous, then
// Gloo (CPU tensors) or NCCL (CUDA tensors, when built against a CUDA LibTorch with NCCL),
// gradients averaged by all-reduce in buckets of about 25 MB (flattened, one collective per
// bucket, as DistributedDataParallel does).
//
//   auto d = Distributed::from_environment(device);   // nullptr when WORLD_SIZE is absent or 1
//   if (d) trainer.set_grad_reducer(d->reducer());
//
// Environment (first found wins): RANK / WORLD_SIZE (torchrun), OMPI_COMM_WORLD_RANK /
// OMPI_COMM_WORLD_SIZE (Open MPI's mpirun), PMI_RANK / PMI_SIZE (MPICH), SLURM_PROCID /
// SLURM_NTASKS (srun); MASTER_ADDR (default 127.0.0.1) and MASTER_PORT (default 29500) name
// rank 0's store. Rank 0 hosts the store and waits up to SCINTIGEN_DIST_TIMEOUT seconds
// (default 300) for the others.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "gen/trainer.h"

namespace scintigen::gen {

class Distributed {
 public:
  // Throws ConfigError for an inconsistent environment (rank outside 0..world-1, bad port).
  static std::unique_ptr<Distributed> from_environment(const torch::Device& device);
  // Explicit set-up (tests): rank, world size, rank 0's address and port.
  static std::unique_ptr<Distributed> connect(int rank, int world, const std::string& addr, int port,
                                              const torch::Device& device);
  ~Distributed();

  int rank() const { return rank_; }
  int world_size() const { return world_; }
  // Averages gradients across ranks in place (bucketed all-reduce).
  GradReducer reducer();
  // In-place sum over ranks of one tensor.
  void all_reduce_sum(torch::Tensor& t);
  void barrier();

  static constexpr int64_t kBucketBytes = 25 << 20;

 private:
  Distributed() = default;
  struct Impl;
  std::shared_ptr<Impl> impl_;
  int rank_ = 0, world_ = 1;
};

}  // namespace scintigen::gen
