#!/usr/bin/env bash
# Generative model speed, each row in one run on one machine (BENCHMARKS.md, "Generative model"):
# for each config, C++ trainer fp32 and bf16 (bench/gen_bench) against the same model and loop
# in plain Python PyTorch fp32 (bench/gen_python_baseline.py), generation scans/s (DPM-Solver++(2M),
# 20 steps, guidance 2), FLOPs per image and the machine's measured matmul peak (bench/gen_flops.py).
#   bench/run_gen_bench.sh [threads] [configs...]   # default: all cores; tiny builtin cpu
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}/bench/gen_bench
PY=/usr/bin/python3
T=${1:-$(nproc)}
shift || true
CONFIGS=("${@:-configs/gen/tiny.json configs/gen/builtin.json configs/gen/cpu.json}")
for cfg in ${CONFIGS[@]}; do
  name=$(basename "$cfg" .json)
  case $name in tiny) batch=16 steps=20 gen=16 ;; builtin) batch=16 steps=8 gen=8 ;; *) batch=8 steps=3 gen=4 ;; esac
  echo "== $name (batch $batch, $T threads)"
  "$B" "$cfg" "$batch" "$steps" "$gen" 20 "$T" 0
  "$B" "$cfg" "$batch" "$steps" 0 20 "$T" 1
  $PY bench/gen_python_baseline.py "$cfg" "$batch" "$steps" "$T"
  "$B" "$cfg" "$batch" "$steps" 0 20 "$T" 0
  $PY bench/gen_flops.py "$cfg" "$T"
done
