#!/usr/bin/env bash
# ae1 and its successors of docs/experiments/fidelity.md ("Latent diffusion, step 1: the
# autoencoder's ceiling"): a count-image autoencoder trained on the 3,000 training scans of every
# candidate, then the audit of its reconstructions of 600 unseen simulator scans (seed 7004) and
# of those scans themselves (the perfect generator's baseline), against the usual 600 real scans.
# NAME (default ae1) and its architecture flags (ae2: --latent-channels 8) are arguments; every
# other setting is the design's. Resumable: rerun it after a stop (the training continues from
# its last checkpoint, every 250 steps). THREADS (default 2) sets the threads of the training and
# the reconstruction, so that two autoencoders can share the two cores (ae2 and ae3).
#   [THREADS=1] scripts/experiments/ae_ceiling.sh [workdir [NAME [autoencoder train flags...]]]
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1
NAME=${2:-ae1}
shift 2 2>/dev/null || shift $#
train_noisy || exit 1
R=()
[ -f "$NAME/run.json" ] && R=(--resume)
nice -n 19 "$BIN" autoencoder train --data train-noisy --out "$NAME" "${R[@]}" --steps 2000 --batch 16 --lr 5e-4 \
  --warmup 100 --ema 0.998 --seed 2026 --bf16 --threads "${THREADS:-2}" --checkpoint-every 250 --val-every 250 \
  --sample-every 500 --log-every 25 "$@" || exit 1
[ -d recon-src ] || "$BIN" simulate --site generator_train --n 600 --seed 7004 --size 64x256 --out recon-src -q ||
  exit 1
if [ ! -f "syn-$NAME-recon.done" ]; then
  rm -rf "syn-$NAME-recon"
  nice -n 19 "$BIN" autoencoder reconstruct "$NAME" --data recon-src --out "syn-$NAME-recon" --seed 1 --threads "${THREADS:-2}" -q ||
    exit 1
  touch "syn-$NAME-recon.done"
fi
for cell in "$NAME-recon:syn-$NAME-recon" fresh-7004:recon-src; do
  [ -f "audit-${cell%%:*}/audit.json" ] || nice -n 19 "$BIN" audit --real real --synthetic "${cell#*:}" \
    --encoder enc --out "audit-${cell%%:*}" --seed 1 --threads 2 -q || exit 1
done
python3 "$ROOT/scripts/experiments/ae_table.py" . >ae_table.md
cat ae_table.md
