#!/usr/bin/env bash
# ft1m-C and ft1m-C2 of docs/experiments/fidelity.md ("Capacity: ft1m-C", "ft1m-C2"), as fixed
# there. ft1m-C: the shipped model fine-tuned for 6,000 steps on the 3,000 generator_train scans;
# ft1m-C2: a copy of ft1m-C extended to 9,000 steps. Then the candidate's two cells (the interval
# default and guidance 1, both 10 steps in bf16): three interleaved speed rounds beside the
# shipped model (run it with nothing else running), the 600-scan audits (memorisation and
# membership at the default cell) and obedience (version 2). Resumable: rerun it after a stop;
# the training continues from its last checkpoint.
#   scripts/experiments/ft1m_c.sh [workdir [ft1m-C|ft1m-C2]]     # default build/fidelity ft1m-C
# Cost on the 2-core development machine: training about 1 h 55 min (ft1m-C2: 55 min more), the
# rest about 25 minutes.
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1
TAG=${2:-ft1m-C}
case $TAG in
  ft1m-C) STEPS=6000 P=c ;;
  ft1m-C2)
    STEPS=9000 P=c2
    if [ ! -d ft1m-C2 ]; then
      [ -f ft1m-C/model.json ] || { echo "ft1m-C2 extends ft1m-C: run this script for ft1m-C first" >&2 && exit 1; }
      rm -rf ft1m-C2.tmp && cp -r ft1m-C ft1m-C2.tmp && mv ft1m-C2.tmp ft1m-C2
    fi
    ;;
  *) echo "usage: ft1m_c.sh [workdir [ft1m-C|ft1m-C2]]" >&2 && exit 2 ;;
esac
[ -d train-noisy ] || "$BIN" simulate --site generator_train --n 3000 --seed 2026 --size 64x256 --out train-noisy -q ||
  exit 1
R=()
[ -f "$TAG/run.json" ] && R=(--resume)
"$BIN" train --data train-noisy --init-from builtin --out "$TAG" "${R[@]}" --steps "$STEPS" --batch 16 --lr 2e-4 \
  --warmup 100 --ema 0.998 --seed 2026 --bf16 --threads 2 --checkpoint-every 250 --val-every 250 \
  --sample-every 1000 --log-every 25 || exit 1

INTERVAL=0.05,0.7
DEFAULT=(--precision bf16 --guidance-interval "$INTERVAL")
for round in 1 2 3; do
  speed "$P-shipped-g1-s10-r$round" builtin 1 10 --precision fp32 || exit 1
  speed "$P-shipped-gi1.5-s10-bf16-r$round" builtin 1.5 10 "${DEFAULT[@]}" || exit 1
  speed "$P-$TAG-gi1.5-s10-bf16-r$round" "$TAG" 1.5 10 "${DEFAULT[@]}" || exit 1
  speed "$P-$TAG-g1-s10-bf16-r$round" "$TAG" 1 10 --precision bf16 || exit 1
done
ev "$TAG-gi1.5-s10-bf16" "$TAG" 1.5 10 "${DEFAULT[*]}" --train train-noisy --model "$TAG" || exit 1
ev "$TAG-g1-s10-bf16" "$TAG" 1 10 "--precision bf16" || exit 1
obedience "$TAG-gi1.5-s10-bf16" "$TAG" 1.5 10 "${DEFAULT[@]}" || exit 1
obedience "$TAG-g1-s10-bf16" "$TAG" 1 10 --precision bf16 || exit 1
python3 "$ROOT/scripts/experiments/ft1m_c_table.py" . "$TAG" "$P" >"${TAG}_table.md"
cat "${TAG}_table.md"
