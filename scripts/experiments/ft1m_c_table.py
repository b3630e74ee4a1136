#!/usr/bin/env python3
"""The ft1m-C table (docs/experiments/fidelity.md, "Capacity: ft1m-C") from a work folder of
scripts/experiments/ft1m_c.sh: speed-c-CELL-rR.json (three rounds), audit-ft1m-C-CELL/audit.json
and obedience-ft1m-C-CELL.json where they exist.
Usage: ft1m_c_table.py WORKDIR. Reads the numbers; recomputes none but medians and ratios."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fidelity_table import print_audit_table, print_obedience_table, print_speed_table  # noqa: E402

SPEED = ["shipped-g1-s10", "shipped-gi1.5-s10-bf16", "ft1m-C-gi1.5-s10-bf16", "ft1m-C-g1-s10-bf16"]
CELLS = ["ft1m-C-gi1.5-s10-bf16", "ft1m-C-g1-s10-bf16"]


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "."
    print_speed_table(work, "c", SPEED, "shipped-g1-s10", "the shipped model, guidance 1, 10 steps, fp32")
    print()
    print_audit_table(work, "", CELLS, privacy=True)
    print()
    print_obedience_table(work, CELLS)


if __name__ == "__main__":
    main()
