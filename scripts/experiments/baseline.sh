#!/usr/bin/env bash
# The baseline experiment of issue 5 (docs/experiments/baseline.md): on simulated data, a
# classifier trained on the small centre alone against one trained on the small centre plus the
# large centre's scans (the upper bound that synthetic data will be measured against), both
# tested on the four external sites, for both tasks (metastasis; cardiac uptake, Perugini >= 2).
# Reports AUCs with DeLong 95% CIs and paired DeLong p-values per site.
#
#   scripts/experiments/baseline.sh [OUT]        (default out/experiments/baseline; ~40 min, 2 cores)
#
# Environment: SCINTIGEN (binary), SEED, N_SMALL, N_LARGE, N_EXT, EPOCHS, PATIENCE, THREADS.
# Writes OUT/ (datasets, classifiers, reports, report HTML) and OUT/baseline.md, the table that
# docs/experiments/baseline.md quotes.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-out/experiments/baseline}
BIN=${SCINTIGEN:-build/apps/scintigen/scintigen}
SEED=${SEED:-2026}
N_SMALL=${N_SMALL:-400}
N_LARGE=${N_LARGE:-2000}
N_EXT=${N_EXT:-600}
EPOCHS=${EPOCHS:-40}
PATIENCE=${PATIENCE:-12}
THREADS=${THREADS:-0}
SIZE=64x256   # the classifier's input grid (256 x 64); scans are simulated at it directly
SITES="ext_a ext_b ext_c ext_d"

[ -x "$BIN" ] || { echo "error: $BIN: not built (hint: make build)" >&2; exit 2; }
mkdir -p "$OUT/data"
start=$(date +%s)
log() { echo "[$(date -u +%H:%M:%S)] $*"; }

# Every cohort from its own seed, so no scan appears twice.
simulate() {  # site n seed
  [ -d "$OUT/data/$1" ] && return 0
  log "simulate $1 ($2 scans)"
  rm -rf "$OUT/data/$1.partial"
  "$BIN" simulate --site "$1" --n "$2" --seed "$3" --size $SIZE --threads "$THREADS" --quiet --out "$OUT/data/$1.partial"
  mv "$OUT/data/$1.partial" "$OUT/data/$1"
}
simulate small_centre "$N_SMALL" $((SEED + 1))
simulate large_centre "$N_LARGE" $((SEED + 2))
i=3
for s in $SITES; do simulate "$s" "$N_EXT" $((SEED + i)); i=$((i + 1)); done

ext=$(for s in $SITES; do printf '%s,' "$OUT/data/$s"; done)
ext=${ext%,}
for task in metastasis cardiac; do
  for arm in small small_large; do
    clf="$OUT/clf_${task}_${arm}"
    train="$OUT/data/small_centre"
    [ "$arm" = small_large ] && train="$train,$OUT/data/large_centre"
    if [ -f "$clf/run.json" ]; then   # a run interrupted earlier continues exactly
      log "resume $task on $arm"
      "$BIN" classify train --out "$clf" --resume --threads "$THREADS" --quiet
    else
      rm -rf "$clf"
      log "train $task on $arm"
      "$BIN" classify train --task "$task" --train "$train" --out "$clf" --epochs "$EPOCHS" --patience "$PATIENCE" \
        --seed "$SEED" --threads "$THREADS" --quiet
    fi
  done
  log "evaluate $task on $SITES"
  "$BIN" classify eval --model "$OUT/clf_${task}_small_large" --compare "$OUT/clf_${task}_small" \
    --data "$ext" --out "$OUT/report_${task}.json" --threads "$THREADS" --quiet
done

elapsed=$(( $(date +%s) - start ))
/usr/bin/python3 scripts/experiments/baseline_table.py "$OUT" \
  --command "scripts/experiments/baseline.sh (SEED=$SEED N_SMALL=$N_SMALL N_LARGE=$N_LARGE N_EXT=$N_EXT EPOCHS=$EPOCHS PATIENCE=$PATIENCE)" \
  --seconds "$elapsed" > "$OUT/baseline.md"
log "done in ${elapsed}s: $OUT/baseline.md"
