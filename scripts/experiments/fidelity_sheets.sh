#!/usr/bin/env bash
# Side-by-side sheets for docs/experiments/fidelity.md: for three conditions (no finding;
# metastasis; Perugini 3 with DPD), the first 5 scans of each set that carry them, one contact
# sheet per (condition, set). Usage: fidelity_sheets.sh WORKDIR SET... (e.g. real syn-shipped-g2-s20)
set -euo pipefail
BIN=$(realpath "${BIN:-$(dirname "$0")/../../build/apps/scintigen/scintigen}")
cd "$1"
shift
mkdir -p sheets
for set in "$@"; do
  for cond in normal metastasis grade3; do
    case $cond in
      normal) where="label_metastasis = 0 AND label_cardiac_grade = 0" ;;
      metastasis) where="label_metastasis = 1 AND label_cardiac_grade = 0" ;;
      grade3) where="label_cardiac_grade = 3 AND label_tracer = 'DPD' AND label_metastasis = 0" ;;
    esac
    mapfile -t ids < <(python3 -c "
import sqlite3, sys
c = sqlite3.connect('file:$set/manifest.db?mode=ro', uri=True)
for (i,) in c.execute(\"SELECT id FROM scans WHERE $where ORDER BY id LIMIT 5\"): print(i)")
    rm -rf "sheets/tmp" && "$BIN" dataset export "$set" --format sheet --ids "${ids[@]}" --columns 5 --out sheets/tmp -q
    mv sheets/tmp/*.png "sheets/${set}_${cond}.png" && rm -rf sheets/tmp
  done
done
