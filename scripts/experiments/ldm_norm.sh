#!/usr/bin/env bash
# ldm3 of docs/experiments/fidelity.md ("Latent diffusion, step 2d: ldm3"): ldm1's recipe with
# each latent channel standardised by ae3's recorded mean and std (`train --latent-norm channel`)
# and the schedule shift SHIFT (1 or 2, fixed by ldm2's result under its reading); then the
# 600-scan audit at the default setting (memorisation and membership there) and obedience. Not
# re-timed: the architecture is ldm1's. Resumable: rerun it after a stop.
#   scripts/experiments/ldm_norm.sh WORKDIR NAME SHIFT
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
[ $# -eq 3 ] || { echo "usage: ldm_norm.sh WORKDIR NAME SHIFT" >&2 && exit 2; }
enter_work "$1" || exit 1
NAME=$2 SHIFT=$3
train_noisy || exit 1
shifted_preset "$NAME" "$SHIFT" || exit 1
ldm_train "$NAME" "$NAME.json" 6000 --latent-norm channel || exit 1
ldm_default_cell "$NAME"
