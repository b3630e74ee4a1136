#!/usr/bin/env bash
# Stage 2 of ldm1 (docs/experiments/fidelity.md, "Latent diffusion, step 2: ldm1" and "ldm1's
# acceptance audit and the ship decision"): run only if ldm1's 600-scan cells pass the step-2
# rule. 2,000 scans of ldm1 at the chosen setting (synthetic seed 7403) against a fresh draw of
# 2,000 real scans (simulate seed 7401), with the training scans for memorisation and membership;
# then the shipped model at its defaults on the same draw and seed, for a paired comparison.
# MODEL (default ldm1) names another latent model of the work folder (ldm1x).
#   [MODEL=ldm1x] scripts/experiments/ldm_confirm.sh WORKDIR [gi1.5|g1]     # the work folder of ldm.sh
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1
train_noisy || exit 1
MODEL=${MODEL:-ldm1}
[ -f "$MODEL/model.json" ] || { echo "ldm_confirm.sh: $MODEL is not trained (scripts/experiments/ldm.sh)" >&2 && exit 1; }
DEFAULT="--guidance 1.5 --steps 10 --precision bf16 --guidance-interval 0.05,0.7 --spacing logsnr"
case ${2:-gi1.5} in
  gi1.5) GF=$DEFAULT ;;
  g1) GF="--guidance 1 --steps 10 --precision bf16 --spacing logsnr" ;;
  *) echo "ldm_confirm.sh: unknown setting '$2' (gi1.5 or g1)" >&2 && exit 2 ;;
esac
[ -d real7401 ] || "$BIN" simulate --site generator_train --n 2000 --seed 7401 --size 64x256 --out real7401 -q || exit 1
confirm_2000 "$MODEL-${2:-gi1.5}" "$GF" real7401 7403 "$MODEL" || exit 1
confirm_2000 shipped-gi1.5 "$DEFAULT" real7401 7403 builtin || exit 1
python3 "$ROOT/scripts/experiments/guidance_steps_table.py" . --accept real7401 "$MODEL-${2:-gi1.5}" shipped-gi1.5
