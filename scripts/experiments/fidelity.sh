#!/usr/bin/env bash
# The generator-fidelity experiment (docs/experiments/fidelity.md): the shipped model against
# the "expected" candidate (same architecture, data and budget, trained on noiseless
# expected-count images; generation draws exact Poisson counts), each audited against 600
# fresh simulator scans of the training distribution, over guidance and sampler steps.
#   scripts/experiments/fidelity.sh [workdir]     # default build/fidelity; resumable
#   DEVICE=cuda scripts/experiments/fidelity.sh   # trains the candidate on a GPU (the rest on the CPU)
# Cost on the 2-core development machine: training about 1 h 45 min (7.8 images/s), each
# 600-scan generation 3-12 min, each audit about 2 min.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${BIN:-build/apps/scintigen/scintigen}")
ROOT=$(pwd)
WORK=${1:-build/fidelity}
mkdir -p "$WORK" && cd "$WORK"
export SCINTIGEN_BUILTIN_MODEL=${SCINTIGEN_BUILTIN_MODEL:-$ROOT/models/builtin}

# The audit's data, as in docs/AUDIT.md ("The shipped model, audited").
# shellcheck source=fidelity_lib.sh
source "$ROOT/scripts/experiments/fidelity_lib.sh"
audit_data

# The candidate: scripts/train-builtin.sh's run on the noiseless twin of its training set (the
# same patients: the simulator draws patients and noise from separate streams).
[ -d sim-noiseless ] || "$BIN" simulate --site generator_train --n 3000 --seed 2026 --size 64x256 --noiseless \
  --out sim-noiseless -q
RESUME=()
[ -f expected/run.json ] && RESUME=(--resume)
"$BIN" train --data sim-noiseless --preset "$ROOT/configs/gen/builtin.json" --target expected --out expected \
  "${RESUME[@]}" --steps 3000 --batch 16 --lr 5e-4 --warmup 100 --ema 0.998 --seed 2026 --bf16 \
  --checkpoint-every 250 --val-every 250 --sample-every 1000 --log-every 25 --device "${DEVICE:-cpu}"
# Its training scans as a camera would have recorded them (memorisation, membership).
[ -d train-noisy ] || "$BIN" simulate --site generator_train --n 3000 --seed 2026 --size 64x256 --out train-noisy -q

# Its own eval_one and speed (all threads, not niced; they replace fidelity_lib.sh's speed here), as
# the runs of docs/experiments/fidelity.md used them.
# eval TAG MODEL GUIDANCE STEPS [audit flags...]: 600 scans (seed 7003) and their audit.
eval_one() {
  local tag=$1 model=$2 g=$3 s=$4
  shift 4
  if [ ! -f "syn-$tag.json" ]; then
    rm -rf "syn-$tag"
    local t0 t1
    t0=$(date +%s.%N)
    local on=()
    builtin_guidance_on "$model" || on=(--guidance-on all)
    "$BIN" generate --model "$model" --n 600 --seed 7003 --guidance "$g" --steps "$s" --guidance-interval 0,1 --spacing quadratic --out "syn-$tag" -q "${on[@]}"
    t1=$(date +%s.%N)
    echo "{\"tag\": \"$tag\", \"seconds\": $(awk "BEGIN { print $t1 - $t0 }")}" >"syn-$tag.json"  # under load: see speed
  fi
  [ -f "audit-$tag/audit.json" ] || "$BIN" audit --real real --synthetic "syn-$tag" --encoder enc --out "audit-$tag" \
    --seed 1 -q "$@"
}
# speed TAG MODEL GUIDANCE STEPS: seconds for 48 scans (batch 16, all threads; run it alone).
speed() {
  [ -f "speed-$1.json" ] && return
  rm -rf speed-tmp
  local t0 t1
  t0=$(date +%s.%N)
  local on=()
  builtin_guidance_on "$2" || on=(--guidance-on all)
  "$BIN" generate --model "$2" --n 48 --seed 9 --guidance "$3" --steps "$4" --guidance-interval 0,1 --spacing quadratic --out speed-tmp -q "${on[@]}"
  t1=$(date +%s.%N)
  echo "{\"tag\": \"$1\", \"scans\": 48, \"seconds\": $(awk "BEGIN { print $t1 - $t0 }")}" >"speed-$1.json"
  rm -rf speed-tmp
}
speed expected-g1-s10 expected 1 10
speed shipped-g1-s10 builtin 1 10
speed expected-g2-s20 expected 2 20
speed shipped-g2-s20 builtin 2 20
eval_one shipped-g2-s20 builtin 2 20
eval_one shipped-g1-s10 builtin 1 10
eval_one expected-g1-s10 expected 1 10 --train train-noisy --model expected
eval_one expected-g2-s20 expected 2 20
# The guidance table (docs/experiments/fidelity.md, design fixed before its runs): the shipped
# model over guidance {1, 1.5, 2, 3} x steps {10, 20}, cheapest first; each with its speed.
for cell in "1.5 10" "2 10" "3 10" "1 20" "1.5 20" "3 20"; do
  set -- $cell
  speed "shipped-g$1-s$2" builtin "$1" "$2"
  eval_one "shipped-g$1-s$2" builtin "$1" "$2"
done
python3 "$ROOT/scripts/experiments/fidelity_table.py" . >fidelity_table.md
cat fidelity_table.md
