#!/usr/bin/env bash
# The limited-interval guidance cells of docs/experiments/fidelity.md ("Guidance in a limited
# interval"), as fixed there: the shipped model at 10 steps in bf16 with guidance 1.5 and 2 on
# the steps at t in [0.05, 0.7] only, beside the default (guidance 1.5 on every step) and
# guidance 1. Speed: three interleaved rounds of 48 scans each (run it with nothing else
# running); then the 600-scan audits and the obedience checks. Resumable: rerun it after a stop.
#   scripts/experiments/guidance_interval.sh [workdir]     # default build/fidelity
# Cost on the 2-core development machine: 20 minutes with a fresh encoder (2026-12-05).
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1

INTERVAL=0.05,0.7
CELLS=("g1-s10 1 --precision fp32" "g1.5-s10-bf16 1.5 --precision bf16"
  "gi1.5-s10-bf16 1.5 --precision bf16 --guidance-interval $INTERVAL"
  "gi2-s10-bf16 2 --precision bf16 --guidance-interval $INTERVAL")
for round in 1 2 3; do
  for cell in "${CELLS[@]}"; do
    # shellcheck disable=SC2086
    set -- $cell
    tag=$1 g=$2
    shift 2
    speed "gi-shipped-$tag-r$round" builtin "$g" 10 "$@" || exit 1
  done
done
# The audits: the new cells, the default again (the reproducibility check), and guidance 1 in bf16
# only where the encoder is not the fewer-steps table's.
ev shipped-gi1.5-s10-bf16 builtin 1.5 10 "--precision bf16 --guidance-interval $INTERVAL" || exit 1
ev shipped-gi2-s10-bf16 builtin 2 10 "--precision bf16 --guidance-interval $INTERVAL" || exit 1
ev shipped-g1.5-s10-bf16 builtin 1.5 10 "--precision bf16" || exit 1
[ "$ENC" = ee2e3b2b ] || ev shipped-g1-s10-bf16 builtin 1 10 "--precision bf16" || exit 1
obedience gi1.5-s10-bf16 builtin 1.5 10 --precision bf16 --guidance-interval "$INTERVAL" || exit 1
obedience gi2-s10-bf16 builtin 2 10 --precision bf16 --guidance-interval "$INTERVAL" || exit 1
obedience g1.5-s10-bf16 builtin 1.5 10 --precision bf16 || exit 1
python3 "$ROOT/scripts/experiments/guidance_interval_table.py" . >guidance_interval_table.md
cat guidance_interval_table.md
