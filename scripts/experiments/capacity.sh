#!/usr/bin/env bash
# The bf16-sampling cells and the capacity candidates of docs/experiments/fidelity.md ("bf16
# sampling and capacity"), in the order fixed there. Resumable: rerun it after any stop; the
# training continues from its last checkpoint. Needs the fidelity experiment's audit data
# (scripts/experiments/fidelity.sh: real/, enc/, train-noisy/ in the same work folder).
#   scripts/experiments/capacity.sh [workdir]     # default build/fidelity
# Cost on the 2-core development machine: each 600-scan generation 4-7 min and audit 2 min;
# ft1m stage A about 1 h alone, stage B about 1 h 30 min more; cpu5m about 7 h.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BIN=$(realpath "${BIN:-build/apps/scintigen/scintigen}")
ROOT=$(pwd)
WORK=${1:-build/fidelity}
cd "$WORK" || exit 1
export SCINTIGEN_BUILTIN_MODEL=${SCINTIGEN_BUILTIN_MODEL:-$ROOT/models/builtin}
# shellcheck source=fidelity_lib.sh
source "$ROOT/scripts/experiments/fidelity_lib.sh"
speed shipped-bf16-g1-s10 builtin 1 10 --bf16
speed shipped-bf16-g1-s20 builtin 1 20 --bf16
speed shipped-bf16-g1.5-s10 builtin 1.5 10 --bf16
ev shipped-bf16-g1-s10 builtin 1 10 --bf16
ev shipped-bf16-g1-s20 builtin 1 20 --bf16
ev shipped-bf16-g1.5-s10 builtin 1.5 10 --bf16
# ft1m: the shipped model fine-tuned on the candidates' scans; stage A 3,000 steps, stage B to 9,000
# (amended from 12,000 before its run: docs/experiments/fidelity.md, "ft1m stage B").
train_ft() {
  local R=()
  [ -f ft1m/run.json ] && R=(--resume)
  nice -n 19 "$BIN" train --data train-noisy --init-from builtin --out ft1m "${R[@]}" --steps "$1" --batch 16 \
    --lr 2e-4 --warmup 100 --ema 0.998 --seed 2026 --bf16 --threads 2 --checkpoint-every 250 --val-every 250 \
    --sample-every 1000 --log-every 25
}
if [ ! -d ft1m-A ]; then
  train_ft 3000 || exit 1
  mkdir -p ft1m-A.tmp && cp ft1m/{model.json,ema.pt,raw.pt,MODEL_CARD.md,metrics.jsonl,run.json} ft1m-A.tmp/ &&
    mv ft1m-A.tmp ft1m-A
fi
ev ft1m-A-g1-s10 ft1m-A 1 10 "" --train train-noisy --model ft1m-A
ev ft1m-A-g1.5-s10 ft1m-A 1.5 10 ""
ev ft1m-A-bf16-g1-s10 ft1m-A 1 10 --bf16
ev ft1m-A-bf16-g1.5-s10 ft1m-A 1.5 10 --bf16
if [ ! -d ft1m-B ]; then
  train_ft 9000 || exit 1
  mkdir -p ft1m-B.tmp && cp ft1m/{model.json,ema.pt,raw.pt,MODEL_CARD.md,metrics.jsonl,run.json} ft1m-B.tmp/ &&
    mv ft1m-B.tmp ft1m-B
fi
ev ft1m-B-bf16-g1-s10 ft1m-B 1 10 --bf16 --train train-noisy --model ft1m-B
ev ft1m-B-bf16-g1.5-s10 ft1m-B 1.5 10 --bf16
# cpu5m: the cpu preset from scratch, the shipped model's recipe (superseded by cpu5m.sh, whose cells are
# those of fidelity.md, "Capacity: cpu5m, amended before its run").
R=()
[ -f cpu5m/run.json ] && R=(--resume)
nice -n 19 "$BIN" train --data train-noisy --preset "$ROOT/configs/gen/cpu.json" --out cpu5m "${R[@]}" --steps 3000 \
  --batch 16 --lr 5e-4 --warmup 100 --ema 0.998 --seed 2026 --bf16 --threads 2 --checkpoint-every 250 \
  --val-every 250 --sample-every 1000 --log-every 25 || exit 1
speed cpu5m-g1-s10 cpu5m 1 10
speed ft1m-B-g1-s10 ft1m-B 1 10
ev cpu5m-g1-s10 cpu5m 1 10 "" --train train-noisy --model cpu5m
ev cpu5m-g1.5-s10 cpu5m 1.5 10 ""
ev cpu5m-bf16-g1-s10 cpu5m 1 10 --bf16
echo "capacity runs done"
