#!/usr/bin/env bash
# Builds the libFuzzer harness of the DICOM read path (fuzz/, docs/FUZZING.md) with clang and
# runs it for SECONDS (default 3600) on one core.
#
#   scripts/fuzz.sh [SECONDS]
#
# Environment: FUZZ_BUILD (build folder, default build-fuzz), FUZZ_JOBS (compile jobs, default
# 2), FUZZ_RSS_MB (default 2048), FUZZ_TIMEOUT (seconds per input, default 10).
#
# The working corpus lives in $FUZZ_BUILD/corpus (outside the repository; kept between runs).
# Seeds, read but never written: small fixture files (every transfer syntax, both crash
# classes, written by make_crash_files --seeds), ../shared/data/dicom when present, and
# tests/io/fuzz_regressions. A crash, a leak, a timeout or an out-of-memory input is kept in
# $FUZZ_BUILD/crashes/ and the fuzzer restarts for the time left (at most 20 times). At the
# end: executions, corpus size, coverage (cov/ft) and the crash files. Exit status 1 when
# anything was found.
set -euo pipefail

seconds="${1:-3600}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FUZZ_BUILD:-$repo/build-fuzz}"
jobs="${FUZZ_JOBS:-2}"
rss_mb="${FUZZ_RSS_MB:-2048}"
timeout_s="${FUZZ_TIMEOUT:-10}"

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
echo "fuzz: building $build"
CC=clang CXX=clang++ cmake -S "$repo/fuzz" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$jobs"

corpus="$build/corpus"
seeds="$build/seeds"
crashes="$build/crashes"
logs="$build/logs"
mkdir -p "$corpus" "$seeds" "$crashes" "$logs"
"$build/make_crash_files" --seeds "$seeds" >/dev/null
seed_dirs=("$seeds" "$repo/tests/io/fuzz_regressions")
[ -d "$repo/../shared/data/dicom" ] && seed_dirs+=("$(cd "$repo/../shared/data/dicom" && pwd)")

# DCMTK's dictionary: the Debian package's, unless the caller set one.
if [ -z "${DCMDICTPATH:-}" ]; then
  dic="$(ls /usr/share/libdcmtk*/dicom.dic 2>/dev/null | head -n1 || true)"
  [ -n "$dic" ] && export DCMDICTPATH="$dic"
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0:detect_stack_use_after_return=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

stamp="$logs/start-$(date +%s)"
touch "$stamp"
echo "fuzz: $seconds s, corpus $corpus, seeds ${seed_dirs[*]}, crashes in $crashes"
start=$(date +%s)
end=$((start + seconds))
run=0
total_execs=0
while :; do
  now=$(date +%s)
  left=$((end - now))
  [ "$left" -ge 5 ] || break
  run=$((run + 1))
  log="$logs/run-$run.log"
  set +e
  # One process, one core; -use_value_profile widens what counts as new coverage.
  "$build/dicom_read_fuzzer" "$corpus" "${seed_dirs[@]}" \
    -dict="$repo/fuzz/dicom.dict" -max_total_time="$left" -rss_limit_mb="$rss_mb" \
    -malloc_limit_mb="$rss_mb" -timeout="$timeout_s" -max_len=65536 -use_value_profile=1 \
    -artifact_prefix="$crashes/" -print_final_stats=1 -reload=0 >"$log" 2>&1
  status=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n1 || true)
  total_execs=$((total_execs + ${execs:-0}))
  if [ "$status" -eq 0 ]; then break; fi
  echo "fuzz: run $run stopped with status $status (log $log):"
  grep -E '^==[0-9]+==ERROR|^SUMMARY|runtime error|deadly signal|Test unit written to|ERROR: libFuzzer' "$log" | head -n 8 || true
  if [ "$run" -ge 20 ]; then echo "fuzz: 20 runs stopped early; giving up"; break; fi
done

# Summary: the last status line of the last run carries coverage and corpus figures.
last="$(grep -E '^#[0-9]+' "$log" | tail -n1 || true)"
cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*' || true)
ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*' || true)
n_corpus=$(find "$corpus" -type f | wc -l)
corpus_kb=$(du -sk "$corpus" | cut -f1)
n_crashes=$(find "$crashes" -type f -newer "$stamp" | wc -l)
elapsed=$(($(date +%s) - start))
echo "fuzz: done after $elapsed s in $run run(s): $total_execs executions, corpus $n_corpus files ($corpus_kb KiB), cov ${cov:-?} ft ${ft:-?}"
echo "fuzz: last status line: $last"
if [ "$n_crashes" -gt 0 ]; then
  echo "fuzz: $n_crashes new file(s) in $crashes:"
  find "$crashes" -type f -newer "$stamp" -printf '  %p (%s bytes)\n'
  echo "fuzz: reproduce with $build/dicom_read_fuzzer FILE; fix, then keep FILE in tests/io/fuzz_regressions/"
  exit 1
fi
exit 0
