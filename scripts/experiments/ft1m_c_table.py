#!/usr/bin/env python3
"""The ft1m-C (or ft1m-C2) table (docs/experiments/fidelity.md, "Capacity: ft1m-C") from a work
folder of scripts/experiments/ft1m_c.sh: speed-P-CELL-rR.json (three rounds),
audit-TAG-CELL/audit.json and obedience-TAG-CELL.json where they exist; with the pooled speed of
the shipped model's and the candidate's default-setting rounds (the same computation: "Speed of a
candidate with the shipped architecture").
Usage: ft1m_c_table.py WORKDIR [TAG P [alone]] (default ft1m-C c). With "alone" (a candidate of
another architecture, scripts/experiments/cpu5m.sh) no pooled speed is printed: it is timed alone.
Reads the numbers; recomputes none but medians and ratios."""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fidelity_table import print_audit_table, print_obedience_table, print_speed_table, speed_rate  # noqa: E402


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "."
    tag, p = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else ("ft1m-C", "c")
    cells = [f"{tag}-gi1.5-s10-bf16", f"{tag}-g1-s10-bf16"]
    speed = ["shipped-g1-s10", "shipped-gi1.5-s10-bf16"] + cells
    print_speed_table(work, p, speed, "shipped-g1-s10", "the shipped model, guidance 1, 10 steps, fp32")
    pooled = [speed_rate(work, f"{p}-{m}-gi1.5-s10-bf16-r{r}") for m in ("shipped", tag) for r in (1, 2, 3)]
    pooled = [x for x in pooled if x]
    if pooled and sys.argv[4:5] != ["alone"]:
        print(f"\nDefault setting, the shipped model's and {tag}'s rounds pooled: median "
              f"{statistics.median(pooled):.3f} scans/s over {len(pooled)} timings.")
    print()
    print_audit_table(work, "", cells, privacy=True)
    print()
    print_obedience_table(work, cells)


if __name__ == "__main__":
    main()
