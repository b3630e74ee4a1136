#!/usr/bin/env bash
# Load on `scintigen reader serve` (BENCHMARKS.md, "Reader study server"): wrk on loopback
# against the next-case and answer endpoints, beside a baseline in the same run: a static asset
# (/static/reader.css: no token check, no database), the most the HTTP layer itself can do here.
#   bench/run_reader_load_bench.sh [seconds] [connections] [server threads] [work dir]
# Defaults: 10 s per endpoint, 16 connections over 2 wrk threads, 32 server threads. The server
# and wrk share the machine's cores. Prints one line per endpoint: requests/s, p50/p99 latency,
# and requests/s as a share of the baseline's.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${BUILD:-build}/apps/scintigen/scintigen")
D=${1:-10}
C=${2:-16}
T=${3:-32}
W=${4:-build/reader-bench}
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/install-deps.sh)" >&2; exit 2; }
rm -rf "$W"
mkdir -p "$W"
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg) at the start; $D s per endpoint, $C connections, $T server threads"
"$BIN" simulate --site generator_train --n 60 --seed 1 --size 64x256 -q --out "$W/real" >/dev/null
"$BIN" simulate --site generator_train --n 60 --seed 2 --size 64x256 -q --out "$W/syn" >/dev/null
"$BIN" reader create --real "$W/real" --synthetic "$W/syn" --n 40 --readers a --match "" --seed 1 \
  --out "$W/study" -q >/dev/null
TOKEN=$(awk '$1 == "a" {print $3}' "$W/study/tokens.txt")
export TOKEN
"$BIN" reader serve "$W/study" --port 0 --threads "$T" >"$W/serve.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "^serving" "$W/serve.log" && break; sleep 0.1; done
URL=$(sed -n 's/^serving .* at \(.*\)\/$/\1/p' "$W/serve.log")
CASE=$(python3 -c 'import json, os, sys, urllib.request as u
r = u.Request(sys.argv[1] + "/api/cases/1", headers={"Authorization": "Bearer " + os.environ["TOKEN"]})
print(json.load(u.urlopen(r))["case"])' "$URL")
run() {  # name, lua script, path
  wrk -t2 -c"$C" -d"${D}s" --latency -s "bench/reader/$2" "$URL$3" >"$W/$1.txt"
  python3 - "$1" "$W/$1.txt" <<'PY'
import re, sys
name, path = sys.argv[1], sys.argv[2]
t = open(path).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
def lat(p):
    v, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", t, re.M).groups()
    return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(f"{name}\t{rps:.0f}\t{lat(50):.2f}\t{lat(99):.2f}\t{errors.group(1) if errors else 0}")
PY
}
{
  run baseline_static get.lua /static/reader.css
  run state get.lua /api/state
  run next_case get.lua /api/cases/1
  run answer_unchanged put_same.lua "/api/answers/$CASE"
  run answer_changed put_change.lua "/api/answers/$CASE"
} >"$W/results.tsv"
python3 - "$W/results.tsv" <<'PY'
import sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
base = float(rows[0][1])
print(f"{'endpoint':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'vs baseline':>12}")
for name, rps, p50, p99, err in rows:
    print(f"{name:<18} {float(rps):>8.0f} {float(p50):>8.2f} {float(p99):>8.2f} {err:>8} {float(rps)/base:>12.2f}")
PY
