#!/usr/bin/env bash
# Eligibility of a capacity candidate as the shipped model (docs/experiments/fidelity.md, "bf16
# sampling and capacity", item 5): its speed at the candidate cells, three interleaved rounds
# with the shipped model's guidance 1, 10 steps, fp32 as the baseline of the same rounds (run
# it with nothing else running), and its obedience there (model check as the CLI test).
#   scripts/experiments/candidate_check.sh WORKDIR MODEL TAG     # e.g. build/fidelity ft1m-A ft1m-A
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BIN=$(realpath "${BIN:-build/apps/scintigen/scintigen}")
ROOT=$(pwd)
cd "$1" || exit 2
MODEL=$2 TAG=$3
export SCINTIGEN_BUILTIN_MODEL=${SCINTIGEN_BUILTIN_MODEL:-$ROOT/models/builtin}
# shellcheck source=fidelity_lib.sh
source "$ROOT/scripts/experiments/fidelity_lib.sh"
CELLS=("g1.5-s10-bf16 1.5 10 --precision bf16" "g1.5-s10 1.5 10 --precision fp32" "g1-s10 1 10 --precision fp32"
  "g1-s10-bf16 1 10 --precision bf16")
for round in 1 2 3; do
  speed "cand-$TAG-shipped-g1-s10-r$round" builtin 1 10 --precision fp32 || exit 1
  for cell in "${CELLS[@]}"; do
    # shellcheck disable=SC2086
    set -- $cell
    speed "cand-$TAG-$1-r$round" "$MODEL" "$2" "$3" "$4" "$5" || exit 1
  done
done
for cell in "${CELLS[@]}"; do
  # shellcheck disable=SC2086
  set -- $cell
  obedience "$TAG-$1" "$MODEL" "$2" "$3" "$4" "$5" || exit 1
done
echo "candidate check of $TAG done"
