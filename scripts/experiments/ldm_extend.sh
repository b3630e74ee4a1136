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
ldm_train ldm1x "$ROOT/configs/gen/latent.json" 12000 || exit 1
ldm_default_cell ldm1x
