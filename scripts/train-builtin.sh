#!/usr/bin/env bash
# Trains the shipped model (models/builtin) on the simulator, reproducibly, in three stages:
#  1. simulate the generator_train profile at the model's grid and train configs/gen/builtin.json
#     from scratch (3,000 steps of 16; about 1 hour on 2 cores with AVX-512 BF16);
#  2. fine-tune that model on the same scans for 6,000 steps at a lower learning rate (ft1m-C,
#     docs/experiments/fidelity.md, "Capacity: ft1m-C"; about 1 h 55 min);
#  3. extend stage 2 to 9,000 steps, the learning-rate schedule recomputed over the new total
#     (ft1m-C2, "Capacity: ft1m-C2"; about 55 min). Stage 3's model is the shipped one
#     (docs/MODEL.md, "The shipped model"), with the sampler settings its audit chose recorded in it
#     (`scintigen model sampler`).
# The shipped stage-1 weights were trained on scans simulated before the per-site seeding (commit
# 5096fa8 or earlier), and stages 2-3 fine-tuned those weights on today's simulation: this script
# trains an equivalent chain on a differently drawn stage-1 set, not a bitwise copy.
# Every stage resumes from its last checkpoint when the script is run again.
#   scripts/train-builtin.sh [workdir]      # default workdir: build/builtin-train
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/apps/scintigen/scintigen}
WORK=${1:-build/builtin-train}
mkdir -p "$WORK"
[ -d "$WORK/sim" ] || "$BIN" simulate --site generator_train --n 3000 --seed 2026 --size 64x256 --out "$WORK/sim" -q
COMMON=(--batch 16 --warmup 100 --ema 0.998 --seed 2026 --bf16 --checkpoint-every 250 --val-every 250 --log-every 25)
RESUME=()
[ -f "$WORK/model/run.json" ] && RESUME=(--resume)
"$BIN" train --data "$WORK/sim" --preset configs/gen/builtin.json --out "$WORK/model" "${RESUME[@]}" \
  --steps 3000 --lr 5e-4 --sample-every 500 "${COMMON[@]}"
# stage 2, then stage 3 (the same folder, extended): train's --resume continues a stopped stage
# and extends a finished one to the larger --steps.
FT=$WORK/ft1m-C2
steps_done() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['training']['steps_done'])" "$1"; }
for total in 6000 9000; do
  if [ -f "$FT/model.json" ] && [ "$(steps_done "$FT/model.json")" -ge "$total" ]; then continue; fi
  RESUME=()
  [ -f "$FT/run.json" ] && RESUME=(--resume)
  "$BIN" train --data "$WORK/sim" --init-from "$WORK/model" --out "$FT" "${RESUME[@]}" --steps "$total" --lr 2e-4 \
    --sample-every 1000 "${COMMON[@]}"
done
rm -rf models/builtin.new && mkdir -p models/builtin.new
cp "$FT"/{model.json,ema.pt,raw.pt,MODEL_CARD.md,metrics.jsonl,run.json} models/builtin.new/
# its own sampler settings, chosen by the audit (docs/experiments/fidelity.md, "Guidance on the
# metastasis condition alone: results")
"$BIN" model sampler models/builtin.new --guidance 2 --guidance-on metastasis
cp "$WORK"/model/samples/step_003000.png docs/images/builtin_samples_step3000.png
rm -rf models/builtin && mv models/builtin.new models/builtin
echo "models/builtin updated from $FT"
