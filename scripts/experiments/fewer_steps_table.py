#!/usr/bin/env python3
"""The fewer-steps table (docs/experiments/fidelity.md, "Fewer sampler steps") from a work folder
of scripts/experiments/fewer_steps.sh: speed-shipped-g1-CELL-rR.json (three rounds), and
audit-shipped-g1-CELL/audit.json and obedience-g1-CELL.json where they exist.
Usage: fewer_steps_table.py WORKDIR. Reads the numbers; recomputes none but medians and ratios."""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fidelity_table import AUDIT_HEADER, audit_cells, ci, verdict  # noqa: E402

CELLS = ["s10", "s10-bf16", "s8", "s8-bf16", "s6", "s6-bf16"]
BASE = "s10"


def load(path):
    with open(path) as f:
        return json.load(f)


def rate(work, cell, r, prefix=""):
    """scans/s of one round; the addendum's cells ("more-") carry their guidance in the name."""
    name = f"speed-more-shipped-{cell}-r{r}.json" if prefix else f"speed-shipped-g1-{cell}-r{r}.json"
    p = os.path.join(work, name)
    if not os.path.exists(p):
        return None
    s = load(p)
    return s["scans"] / s["seconds"]


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "."
    print("| cell | scans/s, rounds 1-3 | median | ratio to guidance 1, 10 steps, fp32 (median of rounds) |")
    print("|---|---|---|---|")
    more = ["g1-s20", "g1-s20-bf16", "g1.5-s10", "g1.5-s10-bf16"]
    for cell in CELLS + more:
        pre, base = ("more-", "g1-s10") if cell in more else ("", BASE)
        rates = [rate(work, cell, r, pre) for r in (1, 2, 3)]
        ratios = [x / b for x, b in zip(rates, [rate(work, base, r, pre) for r in (1, 2, 3)]) if x and b]
        have = [x for x in rates if x]
        print(f"| {cell} | {', '.join(f'{x:.2f}' if x else '-' for x in rates)} | "
              f"{statistics.median(have):.2f} | {statistics.median(ratios):.2f} |" if have else f"| {cell} | - | - | - |")
    print()
    print(AUDIT_HEADER)
    print("|---|---|---|---|---|---|---|---|---|")
    for cell in [f"g1-{c}" for c in CELLS] + ["g1.5-s10-bf16"]:
        p = os.path.join(work, f"audit-shipped-{cell}", "audit.json")
        if os.path.exists(p):
            print(f"| {cell} | {audit_cells(p)}")
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
