#!/usr/bin/env bash
# The table "Autoguidance by the stage-1 model" of docs/experiments/fidelity.md, as fixed there:
# the shipped model (ft1m-C2) guided by its own stage 1 (WORK/stage1: the previous shipped model,
# `git show 2b86081^:models/builtin/FILE`) with 10 logSNR-uniform DPM-Solver++(2M) steps in
# bf16: w = 2 and 3 at t in [0.05, 0.7], w = 2 at every step. Three interleaved speed rounds
# beside the current default and the guidance-1 quadratic fp32 baseline (run it with nothing
# else running), the 600-scan audits with the training scans, obedience (version 2) and the
# total-count spread. Resumable.
#   scripts/experiments/autoguidance.sh [workdir]               # the table (about 35 minutes)
#   scripts/experiments/autoguidance.sh WORKDIR confirm CELL    # stage 2: CELL at 2,000 scans
# The work folder must hold train-noisy (ft1m_c.sh) and, for stage 2, real2000 (as
# guidance_steps.sh).
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1
[ -d train-noisy ] || { echo "autoguidance.sh: train-noisy is missing (scripts/experiments/ft1m_c.sh)" >&2 && exit 1; }
[ -f stage1/model.json ] || { echo "autoguidance.sh: stage1 (the previous shipped model) is missing" >&2 && exit 1; }
AG=(--precision bf16 --spacing logsnr --guide-model stage1)
# cell TAG -> "GUIDANCE STEPS FLAGS..."
declare -A CELL=(
  [C2-gi1.5-logsnr]="1.5 10 --precision bf16 --spacing logsnr --guidance-interval 0.05,0.7"
  [AG2-i]="2 10 ${AG[*]} --guidance-interval 0.05,0.7"
  [AG3-i]="3 10 ${AG[*]} --guidance-interval 0.05,0.7"
  [AG2-all]="2 10 ${AG[*]} --guidance-interval 0,1"
)
NEW=(AG2-i AG3-i AG2-all)

if [ "${2:-}" = confirm ]; then
  confirm_cell "${3:?confirm needs a cell}"
  exit
fi

cell_table ag "${NEW[@]}" || exit 1
python3 "$ROOT/scripts/experiments/guidance_steps_table.py" . --autoguidance >autoguidance_table.md
cat autoguidance_table.md
