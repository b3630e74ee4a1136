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
shifted_preset "$NAME" "$SHIFT" || exit 1
ldm_train "$NAME" "$NAME.json" 6000 || exit 1
ldm_default_cell "$NAME"
