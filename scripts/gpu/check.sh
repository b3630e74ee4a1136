#!/usr/bin/env bash
# On a GPU machine with PyTorch 2.x: build the generative-model code against its CUDA LibTorch
# and run the gen tests (the reference test uses that machine's PyTorch as the reference).
set -uo pipefail
cd "$(dirname "$0")"
TP=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
cmake -S . -B /tmp/gpu-build -G Ninja -DCMAKE_PREFIX_PATH="$TP" -DCMAKE_BUILD_TYPE=Release > /tmp/gpu-cmake.log 2>&1 || { tail -30 /tmp/gpu-cmake.log; exit 1; }
ninja -C /tmp/gpu-build -j16 2>&1 | grep -E "error|warning: unused|FAILED" | head -40
/tmp/gpu-build/gen_unit_test 2>&1 | tail -5
/tmp/gpu-build/gen_reference_test 2>&1 | tail -5
/tmp/gpu-build/gen_cuda_test 2>&1 | tail -8
/tmp/gpu-build/clf_cuda_test 2>&1 | tail -8
