#!/usr/bin/env bash
# Cost of crash isolation: `scintigen ingest` with decoding in supervised worker processes
# (the default) against --no-isolation (threads of one process), in the same run, on N
# two-view 256x1024 files (uncompressed and JPEG-LS). Runs alternate (isolated, in-process,
# isolated, ...) R times each and the median time counts, so that load from other work on the
# machine falls on both alike. Both --dry-run (decode, check, hash, encode: all of it in the
# workers) and the full ingest (also writes the dataset durably, in the parent).
# Usage: bench/run_ingest_isolation_bench.sh [N] [R] [BUILD]   -> a markdown table for BENCHMARKS.md.
set -euo pipefail
N=${1:-500}
R=${2:-5}
BUILD=${3:-build}
BIN=$BUILD/apps/scintigen/scintigen
MAKE=$BUILD/bench/make_nm_files
WORK=$(mktemp -d /tmp/scintigen-isobench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

now() { date +%s.%N; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: bench/run_ingest_isolation_bench.sh $N $R $BUILD"
echo
echo "| files (N=$N) | mode | workers/threads | isolated | in-process | isolated / in-process |"
echo "|---|---|---|---|---|---|"
for syntax in explicit jpegls; do
  dir=$WORK/$syntax
  $MAKE "$dir" "$N" "$syntax"
  cat "$dir"/*.dcm > /dev/null
  for mode in dry-run ingest; do
    for t in 1 2; do
      iso=() inp=()
      for ((k = 0; k < R; ++k)); do
        for variant in iso inp; do
          flags=(--threads "$t" --quiet)
          [[ $variant == inp ]] && flags+=(--no-isolation)
          rm -rf "$WORK/ds"
          if [[ $mode == dry-run ]]; then out=(--dry-run); else out=(--out "$WORK/ds"); fi
          t0=$(now); $BIN ingest "$dir" "${out[@]}" "${flags[@]}"; t1=$(now)
          s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
          if [[ $variant == iso ]]; then iso+=("$s"); else inp+=("$s"); fi
        done
      done
      mi=$(printf '%s\n' "${iso[@]}" | median)
      mp=$(printf '%s\n' "${inp[@]}" | median)
      awk -v n="$N" -v a="$mi" -v b="$mp" -v s="$syntax" -v m="$mode" -v t="$t" \
        'BEGIN { printf "| %s | %s | %s | %.0f/s | %.0f/s | %.3f |\n", s, m, t, n / a, n / b, a / b }'
    done
  done
  rm -rf "$dir" "$WORK/ds"
done
