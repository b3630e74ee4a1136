#!/usr/bin/env bash
# Downstream classifier speed on the CPU, C++ and its baselines in the same run (BENCHMARKS.md,
# "Downstream classifier (training)"). Per thread count, ROUNDS rounds, each running in turn:
# bench/clf_bench (src/clf's network and training step, linked with tcmalloc like the app),
# bench/clf_python_baseline.py (the same network and loop in plain Python PyTorch fp32, glibc
# malloc) and the same script with tcmalloc preloaded; each reports the median of 5 timed
# repeats. Then tables of the medians over rounds with the C++ / Python ratios (and their range
# over rounds), the augmentation's share of a C++ training image, FLOPs per training image and
# the share of the machine's fp32 matmul peak (bench/gen_flops.py's 2048^3 matmul, same run).
#   bench/run_clf_bench.sh [rounds] [threads...]   # default: 3 rounds, threads 1 and 2
# Exits 1 when the two networks' parameter counts differ.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}/bench/clf_bench
PY=/usr/bin/python3
TCMALLOC=/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4
ROUNDS=${1:-3}
shift || true
THREADS=("${@:-1 2}")
STEPS=5 REPEATS=5 INFER=128
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg) at the start, OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}"
for t in ${THREADS[@]}; do
  for r in $(seq "$ROUNDS"); do
    "$B" "$t" $STEPS $REPEATS $INFER | tee -a "$LOG"
    $PY bench/clf_python_baseline.py "$t" $STEPS $REPEATS $INFER | tee -a "$LOG"
    LD_PRELOAD=$TCMALLOC $PY bench/clf_python_baseline.py "$t" $STEPS $REPEATS $INFER |
      sed 's/"python"/"python+tcmalloc"/' | tee -a "$LOG"
  done
  $PY bench/clf_python_baseline.py --flops "$t" | sed 's/^{/{"impl": "flops", /' | tee -a "$LOG"
done
echo "# load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
$PY - "$LOG" <<'TABLE'
import json, statistics, sys

rows = [json.loads(line) for line in open(sys.argv[1])]
med = statistics.median
params = {r["impl"]: r["params"] for r in rows if "params" in r}
print(f"\nparameters: C++ {params['c++']:,}, Python {params['python']:,}")
if params["c++"] != params["python"]:
    sys.exit("error: the C++ and Python networks differ in parameter count")
threads = sorted({r["threads"] for r in rows})
baselines = ("python", "python+tcmalloc")


def runs(impl, t, key):
    return [r[key] for r in rows if r["impl"] == impl and r["threads"] == t]


def cell(v):
    return f"{med(v):.1f} ({min(v):.1f}-{max(v):.1f})" if len(v) > 1 else f"{v[0]:.1f}"


def ratio(t, key, base):
    c, b = runs("c++", t, key), runs(base, t, key)
    per_round = [x / y for x, y in zip(c, b)]
    text = f"**{med(c) / med(b):.2f}x**"
    return text + (f" ({min(per_round):.2f}-{max(per_round):.2f})" if len(per_round) > 1 else "")


for what, key in (("training (forward + BCE + backward + AdamW), batch 16", "train_images_per_s"),
                  ("inference (predict_probabilities), batch 64", "infer_images_per_s")):
    print(f"\n{what}, images/s\n")
    print("| threads | C++ | Python | Python + tcmalloc | C++ / Python | C++ / (Python + tcmalloc) |")
    print("|---|---|---|---|---|---|")
    for t in threads:
        print(f"| {t} | {cell(runs('c++', t, key))} | {cell(runs('python', t, key))} |"
              f" {cell(runs('python+tcmalloc', t, key))} | {ratio(t, key, 'python')} | {ratio(t, key, 'python+tcmalloc')} |")

print("\n| threads | augmentation ms/image (share of a C++ training image) | train GFLOP/image"
      " | fp32 matmul peak GFLOP/s | C++ GFLOP/s (of peak) | Python GFLOP/s (of peak) |")
print("|---|---|---|---|---|---|")
for t in threads:
    f = [r for r in rows if r["impl"] == "flops" and r["threads"] == t][0]
    c, p = med(runs("c++", t, "train_images_per_s")), med(runs("python", t, "train_images_per_s"))
    aug = med(runs("c++", t, "augment_ms_per_image"))
    g, peak = f["train_gflop_per_image"], f["peak_fp32_gflops"]
    print(f"| {t} | {aug:.2f} ({100 * aug / (aug + 1e3 / c):.0f}%) | {g:.3f} | {peak:.0f} |"
          f" {g * c:.0f} ({100 * g * c / peak:.0f}%) | {g * p:.0f} ({100 * g * p / peak:.0f}%) |")
f = [r for r in rows if r["impl"] == "flops"][0]
print("\nimages/s: median over rounds (range); ratios: of the medians (range of the per-round ratios).")
print("GFLOP: convolutions + linear head counted by forward hooks, a training image = 3 forwards; the"
      " forward count agrees with torch.profiler's with_flops to"
      f" {100 * abs(f['forward_gflop_per_image_profiler'] / f['forward_gflop_per_image'] - 1):.1f}%.")
TABLE
