#!/usr/bin/env bash
# ldm2 of docs/experiments/fidelity.md ("Latent diffusion, step 2c: ldm2"): ldm1's recipe with
# the schedule shift of the presets' grid rule for ae3's 32 x 128 latents (64 / sqrt(32 x 128) =
# 1) instead of latent.json's 2, everything else ldm1's; then the 600-scan audit at the default
# setting (memorisation and membership there) and obedience. Not re-timed: the architecture is
# ldm1's. Resumable: rerun it after a stop.
#   scripts/experiments/ldm_shift.sh [workdir [NAME [SHIFT]]]     # default NAME ldm2, SHIFT 1
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1
NAME=${2:-ldm2} SHIFT=${3:-1}
train_noisy || exit 1
AE=${AE:-$ROOT/models/experiments/ae3}
[ -f "$AE/autoencoder.json" ] || { echo "ldm_shift.sh: $AE is missing (scripts/experiments/ae_ceiling.sh)" >&2 && exit 1; }
python3 -c "import json, sys; c = json.load(open(sys.argv[1])); c['schedule_shift'] = float(sys.argv[2]); \
json.dump(c, open(sys.argv[3], 'w'), indent=2)" "$ROOT/configs/gen/latent.json" "$SHIFT" "$NAME.json" || exit 1
R=()
[ -f "$NAME/run.json" ] && R=(--resume)
nice -n 19 "$BIN" train --data train-noisy --autoencoder "$AE" --preset "$NAME.json" --out "$NAME" \
  "${R[@]}" --steps 6000 --batch 16 --lr 5e-4 --warmup 100 --ema 0.998 --seed 2026 --bf16 --threads 2 \
  --checkpoint-every 250 --val-every 500 --sample-every 2000 --log-every 50 || exit 1
INTERVAL=0.05,0.7
DEFAULT=(--precision bf16 --guidance-interval "$INTERVAL" --spacing logsnr)
ev "$NAME-gi1.5-s10-bf16" "$NAME" 1.5 10 "${DEFAULT[*]}" --train train-noisy --model "$NAME" || exit 1
obedience "$NAME-gi1.5-s10-bf16" "$NAME" 1.5 10 "${DEFAULT[@]}" || exit 1
python3 "$ROOT/scripts/experiments/ft1m_c_table.py" . "$NAME" p6 alone >"${NAME}_table.md"
cat "${NAME}_table.md"
