#!/usr/bin/env python3
"""The time-spacing table (docs/experiments/fidelity.md, "Time spacing") from a work folder of
scripts/experiments/spacing.sh: speed-sp-CELL-rR.json (three rounds), audit-CELL/audit.json,
obedience-CELL.json, and each set's spread of total counts (mean, sd, 5th and 95th percentiles,
and the AUC of |log total counts - pooled median| for real against synthetic: how far the
count level alone tells them apart, whatever the direction).
Usage: spacing_table.py WORKDIR. Reads the numbers; computes only medians, ratios and the
count statistics (from each dataset's manifest.db and images.bin)."""
import array
import math
import os
import sqlite3
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fidelity_table import print_audit_table, print_obedience_table, print_speed_table, speed_rate  # noqa: E402

NEW = ["shipped-gi1.5-logsnr", "ft1m-C2-gi1.5-logsnr", "shipped-gi1.5-uniform", "shipped-g1-logsnr"]
SPEED = ["shipped-g1-s10", "shipped-gi1.5-s10-bf16"] + NEW
SETS = ["real", "syn-shipped-gi1.5-s10-bf16", "syn-ft1m-C2-gi1.5-s10-bf16"] + [f"syn-{c}" for c in NEW]


def total_counts(folder):
    """Each scan's total counts (every view), in manifest order."""
    con = sqlite3.connect(f"file:{os.path.join(folder, 'manifest.db')}?mode=ro", uri=True)
    rows = con.execute("SELECT offset, nbytes, dtype FROM scans ORDER BY id").fetchall()
    con.close()
    out = []
    with open(os.path.join(folder, "images.bin"), "rb") as f:
        for off, nbytes, dtype in rows:
            f.seek(off)
            a = array.array("H" if dtype == "u16" else "f")
            a.frombytes(f.read(nbytes))
            out.append(float(sum(a)))
    return out


def auc(pos, neg):
    """Mann-Whitney AUC of pos above neg (ties count half)."""
    pairs = sorted([(x, 1) for x in pos] + [(x, 0) for x in neg])
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mid = (i + j + 1) / 2  # mean of ranks i+1 .. j
        rank_sum += mid * sum(1 for k in range(i, j) if pairs[k][1])
        i = j
    n1, n0 = len(pos), len(neg)
    return (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0)


def print_counts_table(work, sets=None):
    """The total-count spread of each set (the first is the real one) that exists in work."""
    print("| set | total counts, mean (M) | sd (M) | 5th-95th percentile (M) | AUC of the count level, real vs this set |")
    print("|---|---|---|---|---|")
    real = None
    for name in sets or SETS:
        folder = os.path.join(work, name)
        if not os.path.exists(os.path.join(folder, "manifest.db")):
            continue
        t = total_counts(folder)
        q = statistics.quantiles(t, n=20)
        lt = [math.log(x) for x in t]
        if real is None:
            real = lt
            a = "-"
        else:
            med = statistics.median(real + lt)
            a = f"{auc([abs(x - med) for x in real], [abs(x - med) for x in lt]):.3f}"
        print(f"| {name} | {statistics.mean(t) / 1e6:.2f} | {statistics.pstdev(t) / 1e6:.2f} | "
              f"{q[0] / 1e6:.2f}-{q[-1] / 1e6:.2f} | {a} |")


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "."
    print_speed_table(work, "sp", SPEED, "shipped-g1-s10", "the shipped model, guidance 1, 10 steps, fp32")
    pooled = [speed_rate(work, f"sp-{m}-gi1.5-logsnr-r{r}") for m in ("shipped", "ft1m-C2") for r in (1, 2, 3)]
    pooled = [x for x in pooled if x]
    if pooled:
        print(f"\nLogSNR spacing at the default guidance, the shipped model's and ft1m-C2's rounds pooled: median "
              f"{statistics.median(pooled):.3f} scans/s over {len(pooled)} timings.")
    print()
    print_audit_table(work, "", ["shipped-gi1.5-s10-bf16", "ft1m-C2-gi1.5-s10-bf16"] + NEW, privacy=True)
    print()
    print_obedience_table(work, NEW)
    print()
    print_counts_table(work)


if __name__ == "__main__":
    main()
