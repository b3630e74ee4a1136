#!/usr/bin/env bash
# The table "Guidance and step count at logSNR spacing" of docs/experiments/fidelity.md, as fixed
# there: the shipped model (ft1m-C2) with logSNR-uniform DPM-Solver++(2M) steps in bf16 at
# guidance 1 (10 and 14 steps), guidance 2 at t in [0.05, 0.7] (10 steps) and guidance 1.5 at
# t in [0.05, 0.7] (14 steps). Three interleaved speed rounds beside the current default and the
# guidance-1 quadratic fp32 baseline (run it with nothing else running), the 600-scan audits with
# the training scans, obedience (version 2) and the total-count spread. Resumable.
#   scripts/experiments/guidance_steps.sh [workdir]               # the table (about 45 minutes)
#   scripts/experiments/guidance_steps.sh WORKDIR confirm CELL    # stage 2: CELL at 2,000 scans
# The work folder must hold train-noisy (ft1m_c.sh) and, for stage 2, real2000 (the acceptance
# audit's 2,000 real scans: simulate --site generator_train --n 2000 --seed 7101 --size 64x256).
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1
[ -d train-noisy ] || { echo "guidance_steps.sh: train-noisy is missing (scripts/experiments/ft1m_c.sh)" >&2 && exit 1; }
LOGSNR=(--precision bf16 --spacing logsnr)
GI=(--guidance-interval "0.05,0.7")
# cell TAG -> "GUIDANCE STEPS FLAGS..." (the default's row is the time-spacing table's cell)
declare -A CELL=(
  [C2-gi1.5-logsnr]="1.5 10 ${LOGSNR[*]} ${GI[*]}"
  [C2-g1-logsnr]="1 10 ${LOGSNR[*]}"
  [C2-g1-logsnr-s14]="1 14 ${LOGSNR[*]}"
  [C2-gi2-logsnr]="2 10 ${LOGSNR[*]} ${GI[*]}"
  [C2-gi1.5-logsnr-s14]="1.5 14 ${LOGSNR[*]} ${GI[*]}"
)
NEW=(C2-g1-logsnr C2-g1-logsnr-s14 C2-gi2-logsnr C2-gi1.5-logsnr-s14)

if [ "${2:-}" = confirm ]; then
  confirm_cell "${3:?confirm needs a cell}"
  exit
fi

cell_table gs "${NEW[@]}" || exit 1
python3 "$ROOT/scripts/experiments/guidance_steps_table.py" . >guidance_steps_table.md
cat guidance_steps_table.md
