#!/usr/bin/env bash
# Ingest throughput: `scintigen ingest` against a pydicom script doing the same decoding
# (all frames, rescale, float32, SHA-256), side by side in one run, on N two-view 256x1024
# files, uncompressed and JPEG-LS. Two scintigen figures: --dry-run (decode, check, assemble,
# hash, encode: the same work as the baseline and more) and the full ingest (also writes the
# dataset durably: 1 MB of pixels per scan, fsync per commit).
# Usage: bench/run_ingest_bench.sh [N] [BUILD]   -> a markdown table for BENCHMARKS.md.
set -euo pipefail
N=${1:-1000}
BUILD=${2:-build}
BIN=$BUILD/apps/scintigen/scintigen
MAKE=$BUILD/bench/make_nm_files
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/scintigen-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "scintigen $($BIN version --json | $PY -c 'import json,sys; v=json.load(sys.stdin); print(v["scintigen"], "dcmtk", v["dcmtk"], "openjpeg", v["openjpeg"])')"
echo "pydicom $($PY -c 'import pydicom; print(pydicom.__version__)') (JPEG-LS via python3-gdcm)"
echo
echo "| files (N=$N) | threads/processes | scintigen --dry-run | scintigen ingest | pydicom | dry-run / pydicom | ingest / pydicom |"
echo "|---|---|---|---|---|---|---|"
for syntax in explicit jpegls; do
  dir=$WORK/$syntax
  $MAKE "$dir" "$N" "$syntax"
  cat "$dir"/*.dcm > /dev/null  # warm the page cache for every contender
  for t in 1 2; do
    t0=$(now); $BIN ingest "$dir" --dry-run --threads "$t" --quiet; t1=$(now)
    dry=$(rate "$N" "$t0" "$t1")
    rm -rf "$WORK/ds"
    t0=$(now); $BIN ingest "$dir" --out "$WORK/ds" --threads "$t" --quiet; t1=$(now)
    full=$(rate "$N" "$t0" "$t1")
    py=$($PY bench/pydicom_ingest_baseline.py "$dir" --procs "$t" | awk '{printf "%.0f", $3}')
    echo "| $syntax | $t | $dry/s | $full/s | $py/s | $(ratio "$dry" "$py")x | $(ratio "$full" "$py")x |"
  done
  rm -rf "$dir" "$WORK/ds"
done
