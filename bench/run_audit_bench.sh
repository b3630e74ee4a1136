#!/usr/bin/env bash
# Speed of `scintigen audit` (BENCHMARKS.md, "Audit"): N real vs N "synthetic" scans at 64 x 256
# with N training scans (memorisation and membership), encoder training excluded, beside a
# baseline in the same run: `classify eval` of one of the encoder's classifiers on the same 3 N
# scans, the least a CNN-feature audit must do (read every scan and run a network over it).
# The "synthetic" set is simulated (the audit's cost does not depend on where scans come from);
# membership scores --membership-n (default 200) + 200 scans with the shipped model.
#   bench/run_audit_bench.sh [N] [threads] [work dir]   # default 2000 scans, 2 threads
# Prints the wall times, the ratio, and the audit's own progress lines (per-section times).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${BUILD:-build}/apps/scintigen/scintigen")
N=${1:-2000}
T=${2:-2}
W=${3:-build/audit-bench}
mkdir -p "$W"
cd "$W"
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg) at the start; N = $N, threads = $T"
sim() { [ -d "$1" ] || "$BIN" simulate --site generator_train --n "$2" --seed "$3" --size 64x256 -q --out "$1"; }
sim enc_data 600 901
sim real "$N" 902
sim synthetic "$N" 903
sim train "$N" 904
if [ ! -d enc ]; then
  "$BIN" dataset split enc_data --fractions train=0.6,val=0.2,test=0.2 --seed 1 >/dev/null
  "$BIN" audit encoder --data enc_data --out enc --epochs 3 --threads "$T" -q
fi
rm -rf audit eval.json eval.html
start=$(date +%s.%N)
"$BIN" audit --real real --synthetic synthetic --train train --model builtin --encoder enc --out audit \
  --threads "$T" --seed 1
mid=$(date +%s.%N)
"$BIN" classify eval --model enc/metastasis --data real,synthetic,train --out eval.json --no-html --threads "$T" -q >/dev/null
end=$(date +%s.%N)
python3 - "$start" "$mid" "$end" "$N" <<'PY'
import sys
s, m, e, n = map(float, sys.argv[1:5])
a, b = m - s, e - m
print(f"audit {int(n)} vs {int(n)} (+{int(n)} training): {a:.1f} s ({a/60:.1f} min); "
      f"baseline classify eval of {3*int(n)} scans: {b:.1f} s; audit / baseline = {a/b:.1f}x")
PY
echo "# load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
