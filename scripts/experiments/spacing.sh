#!/usr/bin/env bash
# The time-spacing table of docs/experiments/fidelity.md ("Time spacing"), as fixed there: the
# shipped model at the default guidance (1.5 at t in [0.05, 0.7]) with logSNR-uniform and
# uniform-t steps and at guidance 1 with logSNR-uniform steps, and ft1m-C2 at the default
# guidance with logSNR-uniform steps; 10 DPM-Solver++(2M) steps in bf16 everywhere. Three
# interleaved speed rounds (run it with nothing else running), the 600-scan audits, obedience
# (version 2) and the total-count spread of every cell. Resumable: finished steps are skipped.
#   scripts/experiments/spacing.sh [workdir]     # default build/fidelity; needs ft1m-C2 there
# Cost on the 2-core development machine: about 45 minutes.
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1
[ -f ft1m-C2/model.json ] || { echo "spacing.sh: ft1m-C2 is missing (scripts/experiments/ft1m_c.sh WORK ft1m-C2)" >&2 && exit 1; }
INTERVAL=0.05,0.7
GI=(--precision bf16 --guidance-interval "$INTERVAL")
for round in 1 2 3; do
  speed "sp-shipped-g1-s10-r$round" builtin 1 10 --precision fp32 || exit 1
  speed "sp-shipped-gi1.5-s10-bf16-r$round" builtin 1.5 10 "${GI[@]}" || exit 1
  speed "sp-shipped-gi1.5-logsnr-r$round" builtin 1.5 10 "${GI[@]}" --spacing logsnr || exit 1
  speed "sp-ft1m-C2-gi1.5-logsnr-r$round" ft1m-C2 1.5 10 "${GI[@]}" --spacing logsnr || exit 1
  speed "sp-shipped-gi1.5-uniform-r$round" builtin 1.5 10 "${GI[@]}" --spacing uniform || exit 1
  speed "sp-shipped-g1-logsnr-r$round" builtin 1 10 --precision bf16 --spacing logsnr || exit 1
done
ev shipped-gi1.5-logsnr builtin 1.5 10 "${GI[*]} --spacing logsnr" || exit 1
ev ft1m-C2-gi1.5-logsnr ft1m-C2 1.5 10 "${GI[*]} --spacing logsnr" --train train-noisy --model ft1m-C2 || exit 1
ev shipped-gi1.5-uniform builtin 1.5 10 "${GI[*]} --spacing uniform" || exit 1
ev shipped-g1-logsnr builtin 1 10 "--precision bf16 --spacing logsnr" || exit 1
obedience shipped-gi1.5-logsnr builtin 1.5 10 "${GI[@]}" --spacing logsnr || exit 1
obedience ft1m-C2-gi1.5-logsnr ft1m-C2 1.5 10 "${GI[@]}" --spacing logsnr || exit 1
obedience shipped-gi1.5-uniform builtin 1.5 10 "${GI[@]}" --spacing uniform || exit 1
obedience shipped-g1-logsnr builtin 1 10 --precision bf16 --spacing logsnr || exit 1
python3 "$ROOT/scripts/experiments/spacing_table.py" . >spacing_table.md
cat spacing_table.md
