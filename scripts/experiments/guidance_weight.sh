#!/usr/bin/env bash
# The table "Guidance weight between 1 and 1.5, on a fresh 2,000-scan draw" of
# docs/experiments/fidelity.md, as fixed there: the shipped model with 10 logSNR-uniform steps in
# bf16, guided at t in [0.05, 0.7] with w = 1.15 and 1.3. Three interleaved speed rounds beside
# the default and the guidance-1 quadratic fp32 baseline (run it with nothing else running),
# obedience (version 2), then each cell's 2,000-scan audit against 2,000 new real scans
# (real2000b, simulate seed 7301; synthetic seed 7303). Resumable.
#   scripts/experiments/guidance_weight.sh [workdir]           # the table (about 50 minutes)
#   scripts/experiments/guidance_weight.sh WORKDIR context     # + the default and guidance 1 there
# The work folder must hold train-noisy (ft1m_c.sh).
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1
[ -d train-noisy ] || { echo "guidance_weight.sh: train-noisy is missing (scripts/experiments/ft1m_c.sh)" >&2 && exit 1; }
LOGSNR="--precision bf16 --spacing logsnr"
declare -A CELL=(
  [C2-gi1.5-logsnr]="1.5 10 $LOGSNR --guidance-interval 0.05,0.7"
  [C2-gi1.15-logsnr]="1.15 10 $LOGSNR --guidance-interval 0.05,0.7"
  [C2-gi1.3-logsnr]="1.3 10 $LOGSNR --guidance-interval 0.05,0.7"
  [C2-g1-logsnr]="1 10 $LOGSNR"
)
NEW=(C2-gi1.15-logsnr C2-gi1.3-logsnr)
speed_rounds gw "${NEW[@]}" || exit 1
cell_obedience "${NEW[@]}" || exit 1
[ -d real2000b ] || "$BIN" simulate --site generator_train --n 2000 --seed 7301 --size 64x256 --out real2000b -q ||
  exit 1
cells=("${NEW[@]}")
[ "${2:-}" = context ] && cells+=(C2-gi1.5-logsnr C2-g1-logsnr)
for tag in "${cells[@]}"; do
  read -r g s flags <<<"${CELL[$tag]}"
  confirm_2000 "$tag" "--guidance $g --steps $s $flags" real2000b 7303 || exit 1
done
python3 "$ROOT/scripts/experiments/guidance_steps_table.py" . --weights >guidance_weight_table.md
cat guidance_weight_table.md
