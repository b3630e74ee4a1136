#!/usr/bin/env python3
"""The tables "Guidance and step count at logSNR spacing", "Autoguidance by the stage-1 model",
"Guidance weight between 1 and 1.5", "A stochastic sampler", ft1m-M, "Guidance on the metastasis condition alone"
and res128 (docs/experiments/fidelity.md) from a work folder of scripts/experiments/guidance_steps.sh,
autoguidance.sh, guidance_weight.sh, sde_sampler.sh, ft1m_m.sh, guidance_on.sh or res128.sh: speed-gs-CELL-rR.json or speed-ag-CELL-rR.json (three rounds),
audit-CELL/audit.json, obedience-CELL.json and each set's total-count spread. The current
default's audit and obedience are the time-spacing table's cell ft1m-C2-gi1.5-logsnr.
Usage: guidance_steps_table.py WORKDIR            # the 600-scan table
       guidance_steps_table.py WORKDIR --autoguidance  # the autoguidance table
       guidance_steps_table.py WORKDIR --weights  # guidance weights on the fresh 2,000-scan draw
       guidance_steps_table.py WORKDIR confirm CELL  # stage 2: CELL at 2,000 scans beside the default
       guidance_steps_table.py WORKDIR --sde     # the SDE sampler's 600-scan table beside its ODE twins
       guidance_steps_table.py WORKDIR --sde confirm CELL TWIN  # its stage 2 on real2000c
       guidance_steps_table.py WORKDIR --oversample  # ft1m-M (ft1m_m.sh) on real2000c
       guidance_steps_table.py WORKDIR --guidance-on  # guidance on metastasis alone, 600 scans
       guidance_steps_table.py WORKDIR --res128  # res128 (res128.sh) beside its control and the shipped model
       guidance_steps_table.py WORKDIR --accept REAL CELL...  # acceptance-REAL-CELL side by side (ldm_confirm.sh)
Reads the numbers; computes only medians and ratios (and the count statistics)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fidelity_table import print_audit_table, print_obedience_table, print_speed_table  # noqa: E402
from spacing_table import print_counts_table  # noqa: E402

DEFAULT = "ft1m-C2-gi1.5-logsnr"
NEW = ["C2-g1-logsnr", "C2-g1-logsnr-s14", "C2-gi2-logsnr", "C2-gi1.5-logsnr-s14"]
AUTOGUIDANCE = ["AG2-i", "AG3-i", "AG2-all"]
WEIGHTS = ["C2-gi1.15-logsnr", "C2-gi1.3-logsnr"]
SDE = ["C2-gi1.5-logsnr-sde", "C2-g1-logsnr-sde"]
OVERSAMPLE = ["M-g1-logsnr", "M-gi1.5-logsnr"]
RES128 = ["res128-gi1.5-s10-bf16", "res128-g1-s10-bf16"]
GUIDANCE_ON = ["C2-gm1.5-logsnr", "C2-gm2-logsnr"]


def acceptance_rows(a):
    """The endpoint cells of one loaded 2,000-scan audit.json, by endpoint."""
    s = a["sections"]
    m, c = s["fidelity"]["matched"], s["c2st"]
    met = s["label_fidelity"]["labels"]["metastasis"]
    mem, ms = s["memorisation"], s["membership"]
    return {
        "C2ST AUC": f"{c['auc']:.3f} [{c['ci_lower']:.3f}, {c['ci_upper']:.3f}]",
        "matched FD (real-vs-real)": f"{m['frechet']['estimate']:.2f} ({s['fidelity']['baseline']['frechet']['estimate']:.2f})",
        "precision": f"{m['precision']['estimate']:.3f}",
        "recall": f"{m['recall']['estimate']:.3f} [{m['recall']['ci']['lower']:.3f}, {m['recall']['ci']['upper']:.3f}]",
        "metastasis AUC, synthetic (real)": f"{met['synthetic_auc']['estimate']:.3f} ({met['real_auc']['estimate']:.3f})",
        "memorised": f"{mem.get('flagged', '?')}",
        "membership AUC (generator, distance)": f"{ms['generator_attack']['estimate']:.3f}, {ms['distance_attack']['estimate']:.3f}",
    }


def per_condition_rows(work, columns, condition="metastasis=1"):
    """The audit's matched FD and recall for one condition (the secondary endpoint of the SDE
    table), one row per (label, folder) whose audit.json exists."""
    print(f"| cell | {condition}: FD (real halves) | precision | recall (real halves) |")
    print("|---|---|---|---|")
    for label, folder in columns:
        path = os.path.join(work, folder, "audit.json")
        if not os.path.exists(path):
            continue
        for c in json.load(open(path))["sections"]["fidelity"]["per_condition"]:
            if c["condition"] != condition:
                continue
            m, b = c["metrics"], c["baseline"]
            print(f"| {label} | {m['frechet']['estimate']:.2f} ({b['frechet']['estimate']:.2f}) | "
                  f"{m['precision']['estimate']:.2f} | {m['recall']['estimate']:.2f} ({b['recall']['estimate']:.2f}) |")


def print_acceptance_table(work, columns):
    """One column per (label, folder) whose audit.json exists, one row per endpoint."""
    have = [(label, folder) for label, folder in columns if os.path.exists(os.path.join(work, folder, "audit.json"))]
    rows = [acceptance_rows(json.load(open(os.path.join(work, folder, "audit.json")))) for _, folder in have]
    print("| endpoint | " + " | ".join(label for label, _ in have) + " |")
    print("|---|" + "---|" * len(have))
    for k in (rows[0] if rows else {}):
        print(f"| {k} | " + " | ".join(r[k] for r in rows) + " |")


def print_cell_tables(work, prefix, timed, cells):
    """A 600-scan table's parts: the speed rounds (speed-PREFIX-...) of the baseline, the default
    and `timed`, then the audit, the metastatic scans' rows, obedience and the count spread of
    `cells`."""
    print_speed_table(work, prefix, ["base-g1-quadratic-fp32", "C2-gi1.5-logsnr"] + timed, "base-g1-quadratic-fp32",
                      "the shipped model, guidance 1, 10 quadratic steps, fp32")
    print()
    print_audit_table(work, "", cells, privacy=True)
    print()
    per_condition_rows(work, [(c, f"audit-{c}") for c in cells])
    print()
    print_obedience_table(work, cells)
    print()
    print_counts_table(work, ["real"] + [f"syn-{c}" for c in cells])


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "."
    if len(sys.argv) > 3 and sys.argv[2] == "confirm":
        print_acceptance_table(work, [(sys.argv[3], f"acceptance-{sys.argv[3]}"), ("current default", "acceptance-new")])
        return
    if len(sys.argv) > 4 and sys.argv[2] == "--accept":
        print_acceptance_table(work, [(c, f"acceptance-{sys.argv[3]}-{c}") for c in sys.argv[4:]])
        print()
        per_condition_rows(work, [(c, f"acceptance-{sys.argv[3]}-{c}") for c in sys.argv[4:]])
        return
    if "--oversample" in sys.argv[2:]:
        print_obedience_table(work, OVERSAMPLE)
        print()
        columns = [(c, f"acceptance-real2000c-{c}") for c in OVERSAMPLE + ["C2-g1-logsnr", "C2-gi1.5-logsnr"]]
        print_acceptance_table(work, columns)
        print()
        per_condition_rows(work, columns)
        return
    if "--sde" in sys.argv[2:]:
        args = [a for a in sys.argv[2:] if a != "--sde"]
        if len(args) == 3 and args[0] == "confirm":
            columns = [(c, f"acceptance-real2000c-{c}") for c in args[1:]]
            print_acceptance_table(work, columns)
            print()
            per_condition_rows(work, columns)
            return
        print_cell_tables(work, "sde", SDE, [DEFAULT, "C2-g1-logsnr"] + SDE)
        return
    if "--weights" in sys.argv[2:]:
        print_speed_table(work, "gw", ["base-g1-quadratic-fp32", "C2-gi1.5-logsnr"] + WEIGHTS, "base-g1-quadratic-fp32",
                          "the shipped model, guidance 1, 10 quadratic steps, fp32")
        print()
        print_obedience_table(work, [DEFAULT] + WEIGHTS)
        print()
        print_acceptance_table(work, [(c, f"acceptance-real2000b-{c}") for c in WEIGHTS + ["C2-gi1.5-logsnr", "C2-g1-logsnr"]])
        return
    if "--guidance-on" in sys.argv[2:]:
        print_cell_tables(work, "go", GUIDANCE_ON, GUIDANCE_ON)
        return
    if "--res128" in sys.argv[2:]:
        print_cell_tables(work, "r128", [RES128[0]], ["C2-gi1.5-logsnr", "sim128-control"] + RES128)
        return
    prefix, cells = ("ag", AUTOGUIDANCE) if "--autoguidance" in sys.argv[2:] else ("gs", NEW)
    print_speed_table(work, prefix, ["base-g1-quadratic-fp32", "C2-gi1.5-logsnr"] + cells, "base-g1-quadratic-fp32",
                      "the shipped model, guidance 1, 10 quadratic steps, fp32")
    print()
    print_audit_table(work, "", [DEFAULT] + cells, privacy=True)
    print()
    print_obedience_table(work, [DEFAULT] + cells)
    print()
    print_counts_table(work, ["real", f"syn-{DEFAULT}"] + [f"syn-{c}" for c in cells])


if __name__ == "__main__":
    main()
