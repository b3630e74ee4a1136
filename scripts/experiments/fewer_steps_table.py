#!/usr/bin/env python3
"""The fewer-steps table (docs/experiments/fidelity.md, "Fewer sampler steps") from a work folder
of scripts/experiments/fewer_steps.sh: speed-shipped-g1-CELL-rR.json (three rounds), and
audit-shipped-g1-CELL/audit.json and obedience-g1-CELL.json where they exist.
Usage: fewer_steps_table.py WORKDIR. Reads the numbers; recomputes none but medians and ratios."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fidelity_table import print_audit_table, speed_row, verdict  # noqa: E402

CELLS = ["s10", "s10-bf16", "s8", "s8-bf16", "s6", "s6-bf16"]
BASE = "s10"


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "."
    print("| cell | scans/s, rounds 1-3 | median | ratio to guidance 1, 10 steps, fp32 (median of rounds) |")
    print("|---|---|---|---|")
    # The addendum's cells ("more-") carry their guidance in the name.
    for cell in CELLS:
        print(speed_row(work, "shipped-g1", cell, BASE))
    for cell in ["g1-s20", "g1-s20-bf16", "g1.5-s10", "g1.5-s10-bf16"]:
        print(speed_row(work, "more-shipped", cell, "g1-s10"))
    print()
    print_audit_table(work, "shipped-", [f"g1-{c}" for c in CELLS] + ["g1.5-s10-bf16"])
    print()
    print("| cell | obedience | measures |")
    print("|---|---|---|")
    for cell in [f"g1-{c}" for c in CELLS] + ["g1.5-s10-bf16", "g1.5-s10-fp32"]:
        p = os.path.join(work, f"obedience-{cell}.json")
        if not os.path.exists(p):
            continue
        o = load(p)
        parts = [f"{x.get('measure', '?')}: {verdict(x)}" for x in o["measures"]]
        print(f"| {cell} | {'pass' if o['passed'] else 'FAIL'} | {'; '.join(parts)} |")


if __name__ == "__main__":
    main()
