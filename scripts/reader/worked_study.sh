#!/usr/bin/env bash
# The worked study of docs/READER.md: 200 simulator scans ("real") and 200 scans from the shipped
# model at its default settings, a study of 40 cases (task both), four scripted readers of known
# behaviour (scripts/reader/scripted_readers.py) reading through the HTTP API, the report, and
# every headline number recomputed independently (scripts/reader/check_report.py: statsmodels,
# scikit-learn, SciPy and R pROC).
#   scripts/reader/worked_study.sh [work dir]      # default build/reader-worked; ~15 min on 2 cores
# (PYTHON: the interpreter with numpy, PIL, statsmodels, scikit-learn; default /usr/bin/python3)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${BUILD:-build}/apps/scintigen/scintigen")
W=${1:-build/reader-worked}
mkdir -p "$W"
[ -d "$W/real" ] || "$BIN" simulate --site generator_train --n 200 --seed 11 --size 64x256 -q --out "$W/real"
[ -d "$W/syn" ] || "$BIN" generate --model builtin --n 200 --seed 12 -q --out "$W/syn"
[ -d "$W/real_png" ] || "$BIN" dataset export "$W/real" --format png16 --out "$W/real_png" -q
[ -d "$W/syn_png" ] || "$BIN" dataset export "$W/syn" --format png16 --out "$W/syn_png" -q
rm -rf "$W/study" "$W/report"
"$BIN" reader create --real "$W/real" --synthetic "$W/syn" --n 40 --readers random,always_real,perfect,counts \
  --task both --seed 1 --out "$W/study" -q
"$BIN" reader serve "$W/study" --port 0 >"$W/serve.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "^serving" "$W/serve.log" && break; sleep 0.1; done
URL=$(sed -n 's/^serving .* at \(.*\)\/$/\1/p' "$W/serve.log")
"${PYTHON:-/usr/bin/python3}" scripts/reader/scripted_readers.py --url "$URL" --study "$W/study" \
  --png "$W/real=$W/real_png" --png "$W/syn=$W/syn_png" --seed 1
kill $PID
"$BIN" reader report "$W/study" --out "$W/report" --seed 1 -q
"${PYTHON:-/usr/bin/python3}" scripts/reader/check_report.py "$W/study" "$W/report"
