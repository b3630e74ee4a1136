#!/usr/bin/env bash
# dist5 of docs/experiments/fidelity.md ("Distillation: the shipped model in 5 steps"), as fixed
# there: the shipped model distilled into a student that samples in 5 DDIM steps at guidance 1
# (32,000 images), then three interleaved speed rounds (run it with nothing else running), the
# 600-scan audits of the student and of the shipped model at 5 steps without distillation, and
# obedience (version 2) at both. Resumable (training from its last checkpoint, every 250 steps;
# each cell is skipped once done).
#   scripts/experiments/distill.sh [workdir]     # default build/fidelity
set -uo pipefail
# shellcheck source=fidelity_lib.sh
source "$(dirname "$0")/fidelity_lib.sh"
enter_work "${1:-build/fidelity}" || exit 1
train_noisy || exit 1
R=()
[ -f dist5/run.json ] && R=(--resume)
[ -f dist5/model.json ] || nice -n 19 "$BIN" train --data train-noisy --distill-from builtin --distill-steps 5 \
  --distill-substeps 2 --distill-guidance 1.5 --distill-guidance-interval 0.05,0.7 --distill-spacing logsnr \
  --out dist5 "${R[@]}" --steps 2000 --batch 16 --lr 1e-4 --warmup 100 --ema 0.998 --seed 2028 --bf16 --threads 2 \
  --checkpoint-every 250 --val-every 250 --sample-every 1000 --log-every 25 || exit 1

# every sampler setting named, so that neither the tool's nor the model's defaults can change a cell
STUDENT=(--sampler ddim --spacing logsnr --guidance-interval "0,1" --precision bf16)
DEFAULT=(--sampler dpmpp2m --spacing logsnr --guidance-interval "0.05,0.7" --precision bf16)
for round in 1 2 3; do
  speed "d5-shipped-g1-s10-r$round" builtin 1 10 --precision fp32 || exit 1
  speed "d5-shipped-gi1.5-s10-bf16-r$round" builtin 1.5 10 "${DEFAULT[@]}" || exit 1
  speed "d5-dist5-ddim5-r$round" dist5 1 5 "${STUDENT[@]}" || exit 1
done
ev dist5-ddim5 dist5 1 5 "${STUDENT[*]}" --train train-noisy --model dist5 || exit 1
ev C2-gi1.5-s5-logsnr builtin 1.5 5 "${DEFAULT[*]}" || exit 1
obedience dist5-ddim5 dist5 1 5 "${STUDENT[@]}" || exit 1
obedience C2-gi1.5-s5-logsnr builtin 1.5 5 "${DEFAULT[@]}" || exit 1
python3 "$ROOT/scripts/experiments/distill_table.py" . >distill_table.md
cat distill_table.md
