#!/usr/bin/env bash
# Trains the shipped model (models/builtin) from scratch on the simulator, reproducibly:
# simulate the generator_train profile at the model's grid, then train configs/gen/builtin.json.
# About 1 hour on 2 cores with AVX-512 BF16 (docs/MODEL.md, "The shipped model"). The shipped
# weights were trained on scans simulated before the per-site seeding (commit 5096fa8 or
# earlier): today this script trains an equivalent model on a differently drawn set.
#   scripts/train-builtin.sh [workdir]      # default workdir: build/builtin-train
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/apps/scintigen/scintigen}
WORK=${1:-build/builtin-train}
mkdir -p "$WORK"
[ -d "$WORK/sim" ] || "$BIN" simulate --site generator_train --n 3000 --seed 2026 --size 64x256 --out "$WORK/sim" -q
RESUME=()
[ -f "$WORK/model/run.json" ] && RESUME=(--resume)
"$BIN" train --data "$WORK/sim" --preset configs/gen/builtin.json --out "$WORK/model" "${RESUME[@]}" \
  --steps 3000 --batch 16 --lr 5e-4 --warmup 100 --ema 0.998 --seed 2026 --bf16 \
  --checkpoint-every 250 --val-every 250 --sample-every 500 --log-every 25
rm -rf models/builtin.new && mkdir -p models/builtin.new
cp "$WORK"/model/{model.json,ema.pt,raw.pt,MODEL_CARD.md,metrics.jsonl,run.json} models/builtin.new/
cp "$WORK"/model/samples/step_003000.png docs/images/builtin_samples_step3000.png
rm -rf models/builtin && mv models/builtin.new models/builtin
echo "models/builtin updated from $WORK/model"
