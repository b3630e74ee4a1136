#!/usr/bin/env bash
# On a GPU machine with PyTorch 2.x (no DCMTK/SQLite there): build src/core, data, stats, gen and
# the classifier network against its CUDA LibTorch (scripts/gpu/CMakeLists.txt), run the CUDA
# tests and the reference test (that machine's PyTorch is the reference), then benchmark presets
# on the GPU: C++ fp32 (+ generation scans/s), C++ bf16 and the plain Python PyTorch fp32 loop in
# the same run, FLOPs per image and the GPU's measured matmul peaks. Steps run in priority order,
# each under a timeout, so a run cut short still returns what it did.
#   scripts/gpu/prepare.sh                     # on the Debian machine: SQLite into .gpu-deps/
#   scripts/gpu/check.sh [bench presets...]    # on the GPU machine; default: full cpu builtin tiny
#   scripts/gpu/check.sh tests                 # build and tests only
# Logs go to $OUT (or /tmp/gpu-out): check.log (summary), build.log, app.log, one log per test.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
B=/tmp/gpu-build
export CUBLAS_WORKSPACE_CONFIG=:4096:8  # deterministic cuBLAS for the exact-resume test
log() { echo "== $(date +%T) $*"; }
run_test() {
  log "$1"
  timeout "$2" $B/$1 > "$OUT/$1.log" 2>&1
  local rc=$?
  grep -E "^\[ *(OK|FAILED|SKIPPED|PASSED) |info \]|Failure|Expected|Which is|actual|rror" "$OUT/$1.log" | head -40
  echo "$1 exit $rc"
  if [ $rc -ge 128 ] && [ $rc -ne 137 ] && command -v cuda-gdb > /dev/null; then
    log "$1 crashed: backtrace"
    timeout 120 cuda-gdb -q -batch -ex run -ex bt $B/$1 2>&1 | grep -vE "^\[(New|Thread)|^Using host" | tail -40
  fi
}
bench() {  # preset batch steps gen_scans
  local cfg=configs/gen/$1.json
  log "bench $1 (batch $2)"
  timeout 150 $B/gen_bench $cfg $2 $3 $4 20 16 0 cuda
  timeout 150 $B/gen_bench $cfg $2 $3 0 20 16 1 cuda
  timeout 150 python3 bench/gen_python_baseline.py $cfg $2 $3 16 cuda
}
{
log machine
nvidia-smi -L
python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
TP=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
NCCL_INC=$(python3 -c 'import nvidia.nccl as n,os;print(os.path.join(list(n.__path__)[0],"include"))' 2> /dev/null)
log configure
cmake -S scripts/gpu -B $B -G Ninja -DCMAKE_PREFIX_PATH="$TP" -DCMAKE_BUILD_TYPE=Release \
  -DDEPS="$PWD/.gpu-deps" -DNCCL_INCLUDE_DIR="$NCCL_INC" > "$OUT/build.log" 2>&1 ||
  { tail -30 "$OUT/build.log"; exit 1; }
grep -i "warning" -A2 "$OUT/build.log" | head -10
log build
ninja -C $B -j16 -k 0 >> "$OUT/build.log" 2>&1 || grep -E "error|FAILED" "$OUT/build.log" | head -40
run_test gen_cuda_test 240
run_test clf_cuda_test 120
run_test gen_reference_test 120
log "app on CUDA: simulate, train (tiny, 20 steps), generate"
rm -rf /tmp/gpu-app && mkdir -p /tmp/gpu-app
timeout 300 bash -c "$B/scintigen simulate --site generator_train --n 64 --seed 1 --size 64x256 --out /tmp/gpu-app/sim -q &&
  $B/scintigen train --data /tmp/gpu-app/sim --preset tiny --steps 20 --batch 8 --device cuda --out /tmp/gpu-app/m -q &&
  $B/scintigen generate --model /tmp/gpu-app/m --n 8 --device cuda --format png --out /tmp/gpu-app/g -q" \
  > "$OUT/app.log" 2>&1
echo "app exit $? ($(ls /tmp/gpu-app/g/png 2> /dev/null | wc -l) PNG files)"
[ "${1:-}" = tests ] && { run_test gen_unit_test 200; log "done"; exit 0; }
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(full cpu builtin tiny)
for p in "${presets[@]}"; do
  case $p in tiny) bench tiny 64 20 64 ;; builtin) bench builtin 64 20 64 ;; cpu) bench cpu 32 10 32 ;; *) bench "$p" 4 6 4 ;; esac
done
log flops
timeout 120 python3 bench/gen_flops.py configs/gen/full.json 16 cuda
run_test gen_unit_test 200
log "done"
} 2>&1 | tee "$OUT/check.log"
