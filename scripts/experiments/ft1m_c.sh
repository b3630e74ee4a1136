#!/usr/bin/env bash
# ft1m-C of docs/experiments/fidelity.md ("Capacity: ft1m-C"), as fixed there: the shipped model
# fine-tuned for 6,000 steps on the 3,000 generator_train scans, then its two cells (the interval
# default and guidance 1, both 10 steps in bf16): three interleaved speed rounds beside the shipped
# model (run it with nothing else running), the 600-scan audits (memorisation and membership at
# the default cell) and obedience (version 2). Resumable: rerun it after a stop; the training
# continues from its last checkpoint.
#   scripts/experiments/ft1m_c.sh [workdir]     # default build/fidelity
# Cost on the 2-core development machine: training about 1 h 45 min, the rest about 25 minutes.
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1
[ -d train-noisy ] || "$BIN" simulate --site generator_train --n 3000 --seed 2026 --size 64x256 --out train-noisy -q ||
  exit 1
R=()
[ -f ft1m-C/run.json ] && R=(--resume)
"$BIN" train --data train-noisy --init-from builtin --out ft1m-C "${R[@]}" --steps 6000 --batch 16 --lr 2e-4 \
  --warmup 100 --ema 0.998 --seed 2026 --bf16 --threads 2 --checkpoint-every 250 --val-every 250 \
  --sample-every 1000 --log-every 25 || exit 1

INTERVAL=0.05,0.7
DEFAULT=(--precision bf16 --guidance-interval "$INTERVAL")
for round in 1 2 3; do
  speed "c-shipped-g1-s10-r$round" builtin 1 10 --precision fp32 || exit 1
  speed "c-shipped-gi1.5-s10-bf16-r$round" builtin 1.5 10 "${DEFAULT[@]}" || exit 1
  speed "c-ft1m-C-gi1.5-s10-bf16-r$round" ft1m-C 1.5 10 "${DEFAULT[@]}" || exit 1
  speed "c-ft1m-C-g1-s10-bf16-r$round" ft1m-C 1 10 --precision bf16 || exit 1
done
ev ft1m-C-gi1.5-s10-bf16 ft1m-C 1.5 10 "${DEFAULT[*]}" --train train-noisy --model ft1m-C || exit 1
ev ft1m-C-g1-s10-bf16 ft1m-C 1 10 "--precision bf16" || exit 1
obedience ft1m-C-gi1.5-s10-bf16 ft1m-C 1.5 10 "${DEFAULT[@]}" || exit 1
obedience ft1m-C-g1-s10-bf16 ft1m-C 1 10 --precision bf16 || exit 1
python3 "$ROOT/scripts/experiments/ft1m_c_table.py" . >ft1m_c_table.md
cat ft1m_c_table.md
