#!/usr/bin/env bash
# ldm1x of docs/experiments/fidelity.md ("Latent diffusion, step 2b: ldm1x"): ldm1 trained on from
# step 6,000 to 12,000 (a copy of its folder, extended with `train --resume --steps 12000`, the
# learning-rate schedule recomputed over the new total), then the 600-scan audit at the default
# setting (memorisation and membership there) and obedience. Not re-timed: the architecture is
# ldm1's. Resumable: rerun it after a stop.
#   scripts/experiments/ldm_extend.sh [workdir]     # the work folder of ldm.sh
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1
train_noisy || exit 1
[ -f ldm1/model.json ] || { echo "ldm_extend.sh: ldm1 is not trained (scripts/experiments/ldm.sh)" >&2 && exit 1; }
[ -d ldm1x ] || cp -r ldm1 ldm1x || exit 1
AE=${AE:-$ROOT/models/experiments/ae3}
nice -n 19 "$BIN" train --data train-noisy --autoencoder "$AE" --preset "$ROOT/configs/gen/latent.json" --out ldm1x \
  --resume --steps 12000 --batch 16 --lr 5e-4 --warmup 100 --ema 0.998 --seed 2026 --bf16 --threads 2 \
  --checkpoint-every 250 --val-every 500 --sample-every 2000 --log-every 50 || exit 1
INTERVAL=0.05,0.7
DEFAULT=(--precision bf16 --guidance-interval "$INTERVAL" --spacing logsnr)
ev ldm1x-gi1.5-s10-bf16 ldm1x 1.5 10 "${DEFAULT[*]}" --train train-noisy --model ldm1x || exit 1
obedience ldm1x-gi1.5-s10-bf16 ldm1x 1.5 10 "${DEFAULT[@]}" || exit 1
python3 "$ROOT/scripts/experiments/ft1m_c_table.py" . ldm1x p6 alone >ldm1x_table.md
cat ldm1x_table.md
