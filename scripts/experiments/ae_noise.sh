#!/usr/bin/env bash
# The decoder probe of docs/experiments/fidelity.md ("Latent diffusion, a probe of the decoder"):
# ae3's reconstructions of the ceiling's 600 unseen scans (recon-src, seed 7004) with Gaussian
# noise of S standard deviations of each latent channel added to every latent before decoding
# (`autoencoder reconstruct --latent-noise S`), each audited against the usual 600 real scans as
# the ceiling cell was. Resumable: finished cells are kept.
#   scripts/experiments/ae_noise.sh WORKDIR S...     # the design's: 0.1 0.3
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
[ $# -ge 2 ] || { echo "usage: ae_noise.sh WORKDIR S..." >&2 && exit 2; }
enter_work "$1" || exit 1
shift
AE=${AE:-$ROOT/models/experiments/ae3}
[ -d recon-src ] || "$BIN" simulate --site generator_train --n 600 --seed 7004 --size 64x256 --out recon-src -q ||
  exit 1
for s in "$@"; do
  name="ae3-recon-n$s"
  if [ ! -f "syn-$name.done" ]; then
    rm -rf "syn-$name"
    nice -n 19 "$BIN" autoencoder reconstruct "$AE" --data recon-src --out "syn-$name" --seed 1 --latent-noise "$s" \
      --threads 2 -q || exit 1
    touch "syn-$name.done"
  fi
  [ -f "audit-$name/audit.json" ] || nice -n 19 "$BIN" audit --real real --synthetic "syn-$name" --encoder enc \
    --out "audit-$name" --seed 1 --threads 2 -q || exit 1
done
cells=(ae3-recon)
for s in "$@"; do cells+=("ae3-recon-n$s"); done
python3 -c "import sys; sys.path.insert(0, sys.argv[1]); from fidelity_table import print_audit_table; \
print_audit_table('.', '', sys.argv[2:], privacy=False)" "$ROOT/scripts/experiments" "${cells[@]}" \
  ldm1-gi1.5-s10-bf16 ldm2-gi1.5-s10-bf16 >ae_noise_table.md
cat ae_noise_table.md
