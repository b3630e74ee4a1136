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
ldm_train ldm1 "$ROOT/configs/gen/latent.json" 6000 || exit 1

DEFAULT=("${LDM_DEFAULT[@]}")
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
