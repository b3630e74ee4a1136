#!/bin/sh
# DeLong AUC + 95% CI on 1,000,000 scores: scintigen (library and CLI) against R pROC
# (roc() + ci.auc(method = "delong")) on the same data in the same run. Prints both times and
# the ratio, and checks that the AUC and CI agree.
#
#   bench/stats_bench.sh [BUILD_DIR]          (default: build)
#   env: N (cases, default 1000000), REPEAT (default 5), SCINTIGEN, STATS_BENCH (binaries)
set -eu
BUILD=${1:-build}
N=${N:-1000000}
REPEAT=${REPEAT:-5}
SCINTIGEN=${SCINTIGEN:-$BUILD/apps/scintigen/scintigen}
STATS_BENCH=${STATS_BENCH:-$BUILD/bench/stats_bench}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CSV=$WORK/scores.csv

# Scores of a decent classifier (AUC ~0.8), 30% positives, 6 significant digits (some ties).
/usr/bin/python3 - "$CSV" "$N" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(1)
n = int(sys.argv[2])
y = (rng.random(n) < 0.3).astype(int)
s = 1 / (1 + np.exp(-(1.2 * y + rng.normal(size=n) - 0.5)))
with open(sys.argv[1], "w") as f:
    f.write("label,score\n")
    np.savetxt(f, np.column_stack([y, s]), fmt=["%d", "%.6g"], delimiter=",")
PY

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "data: $N cases ($(du -h "$CSV" | cut -f1) CSV)"

LIB=$("$STATS_BENCH" "$CSV" --repeat "$REPEAT")
echo "scintigen library (delong_auc, median of $REPEAT): $LIB"

T0=$(date +%s.%N)
"$SCINTIGEN" stats auc --scores "$CSV" --json > "$WORK/cli.json"
T1=$(date +%s.%N)
CLI_S=$(awk "BEGIN { printf \"%.3f\", $T1 - $T0 }")
echo "scintigen stats auc (end to end, incl. CSV parse and Youden metrics): ${CLI_S} s"

R=$(Rscript - "$CSV" "$REPEAT" <<'RS'
suppressPackageStartupMessages(library(pROC))
a <- commandArgs(trailingOnly = TRUE)
t_read <- system.time(d <- read.csv(a[1]))[["elapsed"]]
times <- numeric(0)
for (i in seq_len(as.integer(a[2]))) {
  times <- c(times, system.time({
    r <- roc(d$label, d$score, levels = c(0, 1), direction = "<", quiet = TRUE)
    ci <- ci.auc(r, method = "delong")
  })[["elapsed"]])
}
cat(sprintf('{"auc": %.17g, "ci_lower": %.17g, "ci_upper": %.17g, "median_s": %.6f, "best_s": %.6f, "read_csv_s": %.3f}\n',
            ci[2], ci[1], ci[3], median(times), min(times), t_read))
RS
)
echo "R pROC $(Rscript -e 'cat(as.character(packageVersion("pROC")))') (roc + ci.auc delong, median of $REPEAT): $R"

/usr/bin/python3 - "$LIB" "$R" "$WORK/cli.json" <<'PY'
import json, sys
lib, r = json.loads(sys.argv[1]), json.loads(sys.argv[2])
cli = json.load(open(sys.argv[3]))
for k in ("auc", "ci_lower", "ci_upper"):
    assert abs(lib[k] - r[k]) < 1e-9, (k, lib[k], r[k])
assert abs(cli["auc"]["estimate"] - r["auc"]) < 1e-9 and abs(cli["auc"]["ci"]["lower"] - r["ci_lower"]) < 1e-9
print(f"agree: AUC {lib['auc']:.6f}, CI {lib['ci_lower']:.6f}-{lib['ci_upper']:.6f} (scintigen and pROC within 1e-9)")
print(f"ratio pROC / scintigen (compute only, median): {r['median_s'] / lib['median_s']:.1f}x "
      f"({r['median_s']:.3f} s vs {lib['median_s']:.3f} s)")
PY
