#!/usr/bin/env bash
# cpu5m of docs/experiments/fidelity.md ("bf16 sampling and capacity", item 2, with the cells
# and rule of "Capacity: cpu5m, amended before its run" and "cpu5m, amended again"): the `cpu` preset (5.6 M parameters)
# trained from scratch with the shipped model's recipe (3,000 steps of 16, 48,000 images) on the
# 3,000 generator_train scans; then three interleaved speed rounds beside the shipped model (run
# it with nothing else running), the 600-scan audits of the default setting (memorisation and
# membership there) and of guidance 1, and obedience (version 2) at both. Resumable: rerun it
# after a stop; the training continues from its last checkpoint (every 250 steps).
#   scripts/experiments/cpu5m.sh [workdir]     # default build/fidelity
# Cost on the 2-core development machine: training 3-4 h (3.9-4.6 images/s), the rest about 1 h
# (the model generates about 0.3 times as fast as the shipped one).
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1
[ -d train-noisy ] || "$BIN" simulate --site generator_train --n 3000 --seed 2026 --size 64x256 --out train-noisy -q ||
  exit 1
R=()
[ -f cpu5m/run.json ] && R=(--resume)
nice -n 19 "$BIN" train --data train-noisy --preset "$ROOT/configs/gen/cpu.json" --out cpu5m "${R[@]}" --steps 3000 \
  --batch 16 --lr 5e-4 --warmup 100 --ema 0.998 --seed 2026 --bf16 --threads 2 --checkpoint-every 250 \
  --val-every 250 --sample-every 1000 --log-every 25 || exit 1

INTERVAL=0.05,0.7
# the sampler defaults of 2026-12-06 (logSNR-uniform steps), named so that later defaults do not change them
DEFAULT=(--precision bf16 --guidance-interval "$INTERVAL" --spacing logsnr)
for round in 1 2 3; do
  speed "p5-shipped-g1-s10-r$round" builtin 1 10 --precision fp32 || exit 1
  speed "p5-shipped-gi1.5-s10-bf16-r$round" builtin 1.5 10 "${DEFAULT[@]}" || exit 1
  speed "p5-cpu5m-gi1.5-s10-bf16-r$round" cpu5m 1.5 10 "${DEFAULT[@]}" || exit 1
  speed "p5-cpu5m-g1-s10-bf16-r$round" cpu5m 1 10 --precision bf16 --spacing logsnr || exit 1
done
ev cpu5m-gi1.5-s10-bf16 cpu5m 1.5 10 "${DEFAULT[*]}" --train train-noisy --model cpu5m || exit 1
ev cpu5m-g1-s10-bf16 cpu5m 1 10 "--precision bf16 --spacing logsnr" || exit 1
obedience cpu5m-gi1.5-s10-bf16 cpu5m 1.5 10 "${DEFAULT[@]}" || exit 1
obedience cpu5m-g1-s10-bf16 cpu5m 1 10 --precision bf16 --spacing logsnr || exit 1
python3 "$ROOT/scripts/experiments/ft1m_c_table.py" . cpu5m p5 alone >cpu5m_table.md
cat cpu5m_table.md
