#!/usr/bin/env bash
# ft1m-M of docs/experiments/fidelity.md ("ft1m-M: the shipped model fine-tuned with its
# metastatic scans oversampled"), as fixed there: the shipped model fine-tuned on the 3,000
# generator_train scans with the metastatic ones twice per epoch (48,000 images), then obedience
# (version 2) and the 2,000-scan audits of guidance 1 and the default against 2,000 new real scans
# (real2000c, simulate seed 7401; synthetic seed 7403). Resumable (training from its last
# checkpoint, every 250 steps).
#   scripts/experiments/ft1m_m.sh [workdir]           # about 1 h training + 45 min audits
#   scripts/experiments/ft1m_m.sh WORKDIR context     # + the shipped model's two cells there
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1
train_noisy || exit 1
R=()
[ -f ft1m-M/run.json ] && R=(--resume)
[ -f ft1m-M/model.json ] || nice -n 19 "$BIN" train --data train-noisy --init-from builtin --out ft1m-M "${R[@]}" --oversample metastasis=1:2 \
    --steps 3000 --batch 16 --lr 1e-4 --warmup 100 --ema 0.998 --seed 2027 --bf16 --threads 2 --checkpoint-every 250 \
    --val-every 250 --sample-every 1000 --log-every 25 || exit 1
LOGSNR="--precision bf16 --spacing logsnr"
declare -A CELL=(
  [M-g1-logsnr]="1 10 $LOGSNR"
  [M-gi1.5-logsnr]="1.5 10 $LOGSNR --guidance-interval 0.05,0.7"
  [C2-g1-logsnr]="1 10 $LOGSNR"
  [C2-gi1.5-logsnr]="1.5 10 $LOGSNR --guidance-interval 0.05,0.7"
)
for tag in M-g1-logsnr M-gi1.5-logsnr; do
  read -r g s flags <<<"${CELL[$tag]}"
  # shellcheck disable=SC2086
  obedience "$tag" ft1m-M "$g" "$s" $flags || exit 1
done
[ -d real2000c ] || "$BIN" simulate --site generator_train --n 2000 --seed 7401 --size 64x256 --out real2000c -q ||
  exit 1
for tag in M-g1-logsnr M-gi1.5-logsnr; do
  read -r g s flags <<<"${CELL[$tag]}"
  confirm_2000 "$tag" "--guidance $g --steps $s $flags" real2000c 7403 ft1m-M || exit 1
done
if [ "${2:-}" = context ]; then
  for tag in C2-g1-logsnr C2-gi1.5-logsnr; do
    read -r g s flags <<<"${CELL[$tag]}"
    confirm_2000 "$tag" "--guidance $g --steps $s $flags" real2000c 7403 || exit 1
  done
fi
python3 "$ROOT/scripts/experiments/guidance_steps_table.py" . --oversample >ft1m_m_table.md
cat ft1m_m_table.md
