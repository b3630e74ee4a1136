#!/usr/bin/env python3
"""The limited-interval guidance table (docs/experiments/fidelity.md, "Guidance in a limited
interval") from a work folder of scripts/experiments/guidance_interval.sh:
speed-gi-shipped-CELL-rR.json (three rounds), audit-shipped-CELL/audit.json and
obedience-CELL.json where they exist.
Usage: guidance_interval_table.py WORKDIR. Reads the numbers; recomputes none but medians and ratios."""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fidelity_table import AUDIT_HEADER, audit_cells, ci, verdict  # noqa: E402

CELLS = ["g1-s10", "g1.5-s10-bf16", "gi1.5-s10-bf16", "gi2-s10-bf16"]
BASE = "g1-s10"
AUDITED = ["g1-s10-bf16", "g1.5-s10-bf16", "gi1.5-s10-bf16", "gi2-s10-bf16"]


def load(path):
    with open(path) as f:
        return json.load(f)


def rate(work, cell, r):
    p = os.path.join(work, f"speed-gi-shipped-{cell}-r{r}.json")
    if not os.path.exists(p):
        return None
    s = load(p)
    return s["scans"] / s["seconds"]


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "."
    print("| cell | scans/s, rounds 1-3 | median | ratio to guidance 1, 10 steps, fp32 (median of rounds) |")
    print("|---|---|---|---|")
    for cell in CELLS:
        rates = [rate(work, cell, r) for r in (1, 2, 3)]
        ratios = [x / b for x, b in zip(rates, [rate(work, BASE, r) for r in (1, 2, 3)]) if x and b]
        have = [x for x in rates if x]
        if not have:
            print(f"| {cell} | - | - | - |")
            continue
        print(f"| {cell} | {', '.join(f'{x:.2f}' if x else '-' for x in rates)} | "
              f"{statistics.median(have):.2f} | {statistics.median(ratios):.2f} |")
    print()
    print(AUDIT_HEADER)
    print("|---|---|---|---|---|---|---|---|---|")
    for cell in AUDITED:
        p = os.path.join(work, f"audit-shipped-{cell}", "audit.json")
        if os.path.exists(p):
            print(f"| {cell} | {audit_cells(p)}")
    print()
    print("| cell | obedience | measures |")
    print("|---|---|---|")
    for cell in CELLS[1:]:
        p = os.path.join(work, f"obedience-{cell}.json")
        if not os.path.exists(p):
            continue
        o = load(p)
        parts = []
        for x in o["measures"]:
            auc = x.get("generated_auc", x.get("generated_auc_3_vs_0", {}))
            c = auc.get("ci") or {}
            est = f" {auc['estimate']:.2f} [{c.get('lower', float('nan')):.2f}, {c.get('upper', float('nan')):.2f}]" \
                if "estimate" in auc else ""
            parts.append(f"{x.get('measure', '?')}{est}: {verdict(x)}")
        print(f"| {cell} | {'pass' if o['passed'] else 'FAIL'} | {'; '.join(parts)} |")


if __name__ == "__main__":
    main()
