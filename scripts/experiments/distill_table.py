#!/usr/bin/env python3
"""The dist5 table (docs/experiments/fidelity.md, "Distillation: the shipped model in 5 steps")
from a work folder of scripts/experiments/distill.sh: speed-d5-CELL-rR.json (three rounds),
audit-CELL/audit.json and obedience-CELL.json where they exist, beside the teacher's existing
default cell (ft1m-C2-gi1.5-logsnr).
Usage: distill_table.py WORKDIR
Reads the numbers; recomputes none but medians and ratios."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fidelity_table import print_audit_table, print_obedience_table, print_speed_table  # noqa: E402


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "."
    print_speed_table(work, "d5", ["shipped-g1-s10", "shipped-gi1.5-s10-bf16", "dist5-ddim5"], "shipped-g1-s10",
                      "the shipped model, guidance 1, 10 steps, fp32")
    print()
    cells = ["dist5-ddim5", "C2-gi1.5-s5-logsnr", "ft1m-C2-gi1.5-logsnr"]
    print_audit_table(work, "", cells, privacy=True)
    print()
    print_obedience_table(work, cells)


if __name__ == "__main__":
    main()
