#!/usr/bin/env python3
"""The limited-interval guidance table (docs/experiments/fidelity.md, "Guidance in a limited
interval") from a work folder of scripts/experiments/guidance_interval.sh:
speed-gi-shipped-CELL-rR.json (three rounds), audit-shipped-CELL/audit.json and
obedience-CELL.json where they exist.
Usage: guidance_interval_table.py WORKDIR. Reads the numbers; recomputes none but medians and ratios."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fidelity_table import print_audit_table, print_obedience_table, print_speed_table  # noqa: E402

CELLS = ["g1-s10", "g1.5-s10-bf16", "gi1.5-s10-bf16", "gi2-s10-bf16"]
AUDITED = ["g1-s10-bf16", "g1.5-s10-bf16", "gi1.5-s10-bf16", "gi2-s10-bf16"]


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "."
    print_speed_table(work, "gi-shipped", CELLS, "g1-s10", "guidance 1, 10 steps, fp32")
    print()
    print_audit_table(work, "shipped-", AUDITED)
    print()
    print_obedience_table(work, CELLS[1:])


if __name__ == "__main__":
    main()
