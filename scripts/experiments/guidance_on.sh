#!/usr/bin/env bash
# The table "Guidance on the metastasis condition alone" of docs/experiments/fidelity.md, as
# fixed there: the shipped model with 10 logSNR-uniform steps in bf16, guided at t in [0.05, 0.7]
# on metastasis alone (generate --guidance-on metastasis) with w = 1.5 and 2. Stage 1: three
# interleaved speed rounds beside the default and the guidance-1 quadratic fp32 baseline (run it
# with nothing else running), each cell's 600-scan audit with the training scans, obedience
# (version 2). Stage 2 (`confirm TAG`, for the cell the stage-1 rule chooses): 2,000 scans of TAG
# and of the default against 2,000 new real scans (real2000d, simulate seed 7501; synthetic seed
# 7503). Resumable.
#   scripts/experiments/guidance_on.sh WORKDIR                  # stage 1 (about 30 minutes)
#   scripts/experiments/guidance_on.sh WORKDIR confirm TAG      # stage 2 (about 45 minutes)
#   scripts/experiments/guidance_on.sh WORKDIR redraw           # the shipped setting on a second fresh
#                                                                # draw (real2000e, seeds 7601/7603; 25 min)
# The work folder must hold train-noisy (ft1m_c.sh or any latent script makes it).
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1
train_noisy || exit 1
LOGSNR="--precision bf16 --spacing logsnr --guidance-interval 0.05,0.7"
declare -A CELL=(
  [C2-gi1.5-logsnr]="1.5 10 $LOGSNR"
  [C2-gm1.5-logsnr]="1.5 10 $LOGSNR --guidance-on metastasis"
  [C2-gm2-logsnr]="2 10 $LOGSNR --guidance-on metastasis"
)
NEW=(C2-gm1.5-logsnr C2-gm2-logsnr)
if [ "${2:-}" = redraw ]; then
  [ -d real2000e ] || "$BIN" simulate --site generator_train --n 2000 --seed 7601 --size 64x256 --out real2000e -q ||
    exit 1
  read -r g s flags <<<"${CELL[C2-gm2-logsnr]}"
  confirm_2000 C2-gm2-logsnr "--guidance $g --steps $s $flags" real2000e 7603 || exit 1
  python3 "$ROOT/scripts/experiments/guidance_steps_table.py" . --accept real2000e C2-gm2-logsnr \
    >guidance_on_redraw_table.md
  cat guidance_on_redraw_table.md
  exit 0
fi
if [ "${2:-}" = confirm ]; then
  tag=${3:-}
  [ -n "${CELL[$tag]:-}" ] || { echo "guidance_on.sh: unknown cell '$tag' (${NEW[*]})" >&2 && exit 2; }
  [ -d real2000d ] || "$BIN" simulate --site generator_train --n 2000 --seed 7501 --size 64x256 --out real2000d -q ||
    exit 1
  for t in "$tag" C2-gi1.5-logsnr; do
    read -r g s flags <<<"${CELL[$t]}"
    confirm_2000 "$t" "--guidance $g --steps $s $flags" real2000d 7503 || exit 1
  done
  python3 "$ROOT/scripts/experiments/guidance_steps_table.py" . --accept real2000d "$tag" C2-gi1.5-logsnr \
    >guidance_on_confirm_table.md
  cat guidance_on_confirm_table.md
  exit 0
fi
cell_table go "${NEW[@]}" || exit 1
python3 "$ROOT/scripts/experiments/guidance_steps_table.py" . --guidance-on >guidance_on_table.md
cat guidance_on_table.md
