#!/usr/bin/env bash
# The table "A stochastic sampler: SDE-DPM-Solver++(2M)" of docs/experiments/fidelity.md, as fixed
# there: the shipped model with 10 logSNR-uniform steps in bf16 and `--sampler dpmpp2m-sde`, at
# the default guidance (1.5 at t in [0.05, 0.7]) and at guidance 1. Three interleaved speed rounds
# beside the default and the guidance-1 quadratic fp32 baseline (run it with nothing else
# running), the 600-scan audits with the training scans, obedience (version 2); then stage 2: the
# chosen cell and its ODE twin against 2,000 new real scans (real2000c, simulate seed 7401;
# synthetic seed 7403). Resumable.
#   scripts/experiments/sde_sampler.sh [workdir]             # stage 1 (about 30 minutes)
#   scripts/experiments/sde_sampler.sh WORKDIR confirm CELL  # stage 2 for CELL (about 45 minutes)
# The work folder must hold train-noisy (ft1m_c.sh) and the ODE twins' 600-scan audits
# (guidance_steps.sh; the time-spacing table's ft1m-C2-gi1.5-logsnr for the default).
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1
[ -d train-noisy ] || { echo "sde_sampler.sh: train-noisy is missing (scripts/experiments/ft1m_c.sh)" >&2 && exit 1; }
LOGSNR="--precision bf16 --spacing logsnr"
GI="--guidance-interval 0.05,0.7"
SDE="--sampler dpmpp2m-sde"
declare -A CELL=(
  [C2-gi1.5-logsnr]="1.5 10 $LOGSNR $GI"
  [C2-g1-logsnr]="1 10 $LOGSNR"
  [C2-gi1.5-logsnr-sde]="1.5 10 $LOGSNR $GI $SDE"
  [C2-g1-logsnr-sde]="1 10 $LOGSNR $SDE"
)
declare -A TWIN=([C2-gi1.5-logsnr-sde]=C2-gi1.5-logsnr [C2-g1-logsnr-sde]=C2-g1-logsnr)
NEW=(C2-gi1.5-logsnr-sde C2-g1-logsnr-sde)

if [ "${2:-}" = confirm ]; then
  tag=${3:?confirm needs a cell}
  [ -n "${TWIN[$tag]:-}" ] || { echo "sde_sampler.sh: unknown cell '$tag'" >&2 && exit 2; }
  [ -d real2000c ] || "$BIN" simulate --site generator_train --n 2000 --seed 7401 --size 64x256 --out real2000c -q ||
    exit 1
  for t in "$tag" "${TWIN[$tag]}"; do
    read -r g s flags <<<"${CELL[$t]}"
    confirm_2000 "$t" "--guidance $g --steps $s $flags" real2000c 7403 || exit 1
  done
  python3 "$ROOT/scripts/experiments/guidance_steps_table.py" . --sde confirm "$tag" "${TWIN[$tag]}" |
    tee "sde_confirm_table.md"
  exit
fi

cell_table sde "${NEW[@]}" || exit 1
python3 "$ROOT/scripts/experiments/guidance_steps_table.py" . --sde >sde_table.md
cat sde_table.md
