#!/usr/bin/env bash
# Ingest throughput: `scintigen ingest` against a pydicom script doing the same decoding
# (all frames, rescale, float32, SHA-256), side by side in one run, on N two-view 256x1024
# files, uncompressed and JPEG-LS. Usage: bench/run_ingest_bench.sh [N] [BUILD]
# Prints a markdown table for BENCHMARKS.md. Files are made by bench/make_nm_files (synthetic).
set -euo pipefail
N=${1:-1000}
BUILD=${2:-build}
BIN=$BUILD/apps/scintigen/scintigen
MAKE=$BUILD/bench/make_nm_files
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/scintigen-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

now() { date +%s.%N; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "scintigen $($BIN version --json | $PY -c 'import json,sys; v=json.load(sys.stdin); print(v["scintigen"], "dcmtk", v["dcmtk"], "openjpeg", v["openjpeg"])')"
echo "pydicom $($PY -c 'import pydicom; print(pydicom.__version__)') (JPEG-LS via python3-gdcm)"
echo
echo "| files | N | scintigen 1 thread | scintigen 2 threads | pydicom 1 process | pydicom 2 processes | ratio 2 threads / 2 processes | ratio 1 / 1 |"
echo "|---|---|---|---|---|---|---|---|"
for syntax in explicit jpegls; do
  dir=$WORK/$syntax
  $MAKE "$dir" "$N" "$syntax"
  cat "$dir"/*.dcm > /dev/null  # warm the page cache for both contenders
  declare -A r
  for t in 1 2; do
    rm -rf "$WORK/ds"
    t0=$(now)
    $BIN ingest "$dir" --out "$WORK/ds" --threads "$t" --quiet
    t1=$(now)
    r[sg$t]=$(awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')
  done
  for p in 1 2; do
    r[py$p]=$($PY bench/pydicom_ingest_baseline.py "$dir" --procs "$p" | awk '{print $3}')
  done
  ratio2=$(awk -v a="${r[sg2]}" -v b="${r[py2]}" 'BEGIN { printf "%.2f", a / b }')
  ratio1=$(awk -v a="${r[sg1]}" -v b="${r[py1]}" 'BEGIN { printf "%.2f", a / b }')
  echo "| $syntax | $N | ${r[sg1]}/s | ${r[sg2]}/s | ${r[py1]}/s | ${r[py2]}/s | ${ratio2}x | ${ratio1}x |"
  rm -rf "$dir"
done
