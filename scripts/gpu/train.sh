#!/usr/bin/env bash
# On a GPU machine (carry .gpu-deps from scripts/gpu/prepare.sh): build the app's GPU subset
# (scripts/gpu/CMakeLists.txt), simulate the shipped model's training distribution there, and
# train on CUDA with the app's own `train` command under a time limit, so a lent machine's
# minutes are spent on training and the model always comes back finished:
#   scripts/gpu/train.sh MINUTES STEPS [train flags...]
#   e.g. scripts/gpu/train.sh 5 2500 --preset configs/gen/cpu.json --batch 32 --lr 5e-4 --warmup 100 \
#          --ema 0.999 --seed 2026 --bf16
# If the limit stops the run first, the model is finished at the step reached (`--resume --steps
# DONE`; its learning rate had not decayed fully, which OUT/model/run.json records). The model
# folder (without its optimiser checkpoint, too large to fetch) and the logs go to $OUT. Audit it
# on the CPU (docs/AUDIT.md); generation and the audit do not need the GPU.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
[ $# -ge 2 ] || { sed -n 2,12p "$0"; exit 2; }
MINUTES=$1 STEPS=$2
shift 2
OUT=${OUT:-/tmp/gpu-out}
B=/tmp/gpu-build
mkdir -p "$OUT"
log() { echo "== $(date +%T) $*"; }
{
log machine
nvidia-smi -L
TP=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
NCCL_INC=$(python3 -c 'import nvidia.nccl as n,os;print(os.path.join(list(n.__path__)[0],"include"))' 2> /dev/null)
log configure
cmake -S scripts/gpu -B $B -G Ninja -DCMAKE_PREFIX_PATH="$TP" -DCMAKE_BUILD_TYPE=Release -DDEPS="$PWD/.gpu-deps" \
  -DNCCL_INCLUDE_DIR="$NCCL_INC" > "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
log build
ninja -C $B -j"$(nproc)" scintigen >> "$OUT/build.log" 2>&1 || { grep -E "error|FAILED" "$OUT/build.log" | head -40; exit 1; }
log simulate
[ -d /tmp/gpu-sim ] || $B/scintigen simulate --site generator_train --n 3000 --seed 2026 --size 64x256 \
  --out /tmp/gpu-sim -q || exit 1
log "train (limit $MINUTES min)"
train() {
  $B/scintigen train --data /tmp/gpu-sim --out "$OUT/model" --device cuda --log-every 100 --val-every 500 \
    --sample-every 0 --checkpoint-every 500 "$@"
}
train --steps "$STEPS" --time-limit "$MINUTES" "$@" || exit 1
if [ ! -f "$OUT/model/model.json" ]; then
  DONE=$(python3 -c "import json;print(json.load(open('$OUT/model/checkpoint/state.json'))['state']['step'])")
  log "finishing the model at step $DONE"
  train --steps "$DONE" --resume "$@" || exit 1
fi
rm -rf "$OUT/model/checkpoint"
log "done"
} 2>&1 | tee "$OUT/train.log"
