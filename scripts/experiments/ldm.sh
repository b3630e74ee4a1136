#!/usr/bin/env bash
# ldm1 of docs/experiments/fidelity.md ("Latent diffusion, step 2: ldm1"): the configs/gen/latent.json
# U-Net (3.84 M parameters) trained from scratch on ae3's latents of the 3,000 training scans
# (ae3 passed step 1's rule; its folder is kept in models/experiments/ae3, or AE names another
# copy; scripts/experiments/ae_ceiling.sh remakes it), 6,000 steps of 16; then three interleaved speed
# rounds beside the shipped model (run it with nothing else running), the 600-scan audits of the
# default setting (memorisation and membership there) and of guidance 1, and obedience (version 2)
# at both. Resumable: rerun it after a stop (the training continues from its last checkpoint).
#   scripts/experiments/ldm.sh [workdir]     # default build/fidelity
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1
train_noisy || exit 1
AE=${AE:-$ROOT/models/experiments/ae3}
[ -f "$AE/autoencoder.json" ] || { echo "ldm.sh: $AE is missing (scripts/experiments/ae_ceiling.sh)" >&2 && exit 1; }
R=()
[ -f ldm1/run.json ] && R=(--resume)
nice -n 19 "$BIN" train --data train-noisy --autoencoder "$AE" --preset "$ROOT/configs/gen/latent.json" --out ldm1 \
  "${R[@]}" --steps 6000 --batch 16 --lr 5e-4 --warmup 100 --ema 0.998 --seed 2026 --bf16 --threads 2 \
  --checkpoint-every 250 --val-every 500 --sample-every 2000 --log-every 50 || exit 1

INTERVAL=0.05,0.7
# the sampler defaults of 2026-12-06 (logSNR-uniform steps), named so that later defaults do not change them
DEFAULT=(--precision bf16 --guidance-interval "$INTERVAL" --spacing logsnr)
for round in 1 2 3; do
  speed "p6-shipped-g1-s10-r$round" builtin 1 10 --precision fp32 || exit 1
  speed "p6-shipped-gi1.5-s10-bf16-r$round" builtin 1.5 10 "${DEFAULT[@]}" || exit 1
  speed "p6-ldm1-gi1.5-s10-bf16-r$round" ldm1 1.5 10 "${DEFAULT[@]}" || exit 1
  speed "p6-ldm1-g1-s10-bf16-r$round" ldm1 1 10 --precision bf16 --spacing logsnr || exit 1
done
ev ldm1-gi1.5-s10-bf16 ldm1 1.5 10 "${DEFAULT[*]}" --train train-noisy --model ldm1 || exit 1
ev ldm1-g1-s10-bf16 ldm1 1 10 "--precision bf16 --spacing logsnr" || exit 1
obedience ldm1-gi1.5-s10-bf16 ldm1 1.5 10 "${DEFAULT[@]}" || exit 1
obedience ldm1-g1-s10-bf16 ldm1 1 10 --precision bf16 --spacing logsnr || exit 1
python3 "$ROOT/scripts/experiments/ft1m_c_table.py" . ldm1 p6 alone >ldm1_table.md
cat ldm1_table.md
