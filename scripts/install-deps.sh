#!/usr/bin/env bash
# Installs every Debian 12 package that scintigen's build, tests, benchmarks and runtime need.
# Idempotent: packages already present are left alone; safe to run again. Then installs the
# pinned plotting libraries of the HTML reports into web/node_modules (npm ci) when missing or
# older than web/package-lock.json.
#
#   scripts/install-deps.sh            # everything: build, runtime, tests, benchmarks, HTML reports
#   scripts/install-deps.sh --runtime  # only what building and running scintigen needs (make demo)
set -euo pipefail

runtime_only=0
case "${1:-}" in
  --runtime) runtime_only=1 ;;
  "") ;;
  *) echo "install-deps: unknown option '$1' (use --runtime or nothing)" >&2; exit 2 ;;
esac

runtime_packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # runtime libraries
  libdcmtk-dev libopenjp2-7-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  libsqlite3-dev libpng-dev zlib1g-dev libssl-dev
  # the reader study's HTTP(S) server (header + shared library)
  libcpp-httplib-dev
  libtorch-dev libgoogle-perftools-dev
  # OpenBLAS for LibTorch's float32 matmuls (Debian's default reference BLAS made them 20x
  # slower: 6 vs 139 GFLOP/s on 2 cores, BENCHMARKS.md); Gloo headers for c10d data parallel
  libopenblas0-pthread libgloo-dev
)

test_packages=(
  # tests and benchmarks; clang and its runtime (libFuzzer, ASan, UBSan) for the fuzz tests;
  # clang-format for the format check (scripts/format.sh)
  libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev clang-format
  # independent references used by the tests (never runtime dependencies)
  python3 python3-numpy python3-pydicom python3-gdcm python3-pil dicom3tools
  r-base-core r-cran-proc r-cran-survival python3-sklearn python3-statsmodels python3-scipy
  python3-torch python3-jsonschema
  # the reader study: sqlite3 (the durability test's integrity check), wrk (the load benchmark)
  sqlite3 wrk
  # HTML reports (src/report): npm fetches the pinned Vega-Lite bundles into web/node_modules;
  # chromium renders a report in the browser test
  nodejs npm chromium
)

packages=("${runtime_packages[@]}")
[ "$runtime_only" -eq 1 ] || packages+=("${test_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  # NodeSource's nodejs package bundles npm (and conflicts with Debian's npm package)
  [ "$p" = npm ] && command -v npm >/dev/null && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ "$runtime_only" -eq 1 ] && exit 0

# The JavaScript the HTML reports inline, at the versions web/package-lock.json pins.
web="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/web"
if [ ! -d "$web/node_modules" ] || [ "$web/package-lock.json" -nt "$web/node_modules" ]; then
  echo "install-deps: npm ci in $web"
  (cd "$web" && npm ci --no-audit --no-fund)
  touch "$web/node_modules"
else
  echo "install-deps: $web/node_modules is current"
fi
