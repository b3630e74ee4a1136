#!/usr/bin/env python3
"""The generator-fidelity table (docs/experiments/fidelity.md) from audit-TAG/audit.json and
speed-TAG.json (seconds for 48 scans) in a work folder: usage fidelity_table.py WORKDIR."""
import glob
import json
import os
import statistics
import sys


def ci(x, digits=2):
    est = x["estimate"]
    c = x.get("ci") or {}
    if c.get("lower") is None:
        return f"{est:.{digits}f}"
    return f"{est:.{digits}f} [{c['lower']:.{digits}f}, {c['upper']:.{digits}f}]"


AUDIT_HEADER = ("| cell | encoder | C2ST AUC [95% CI] | matched FD vs baseline | precision vs baseline | "
                "recall vs baseline | coverage | HF excess W1/sd vs baseline | metastasis AUC, synthetic vs real |")


def audit_cells(a):
    """The cells after the first of an AUDIT_HEADER row, from one loaded audit.json."""
    s = a["sections"]
    m, b, c = s["fidelity"]["matched"], s["fidelity"]["baseline"], s["c2st"]
    hf = s["image_stats"]["comparison"]["distances"]["high_frequency_ratio"]["wasserstein_sd"]
    hfb = s["image_stats"]["baseline"]["distances"]["high_frequency_ratio"]["wasserstein_sd"]
    met = s["label_fidelity"]["labels"]["metastasis"]
    return (f"{a['inputs']['encoder']['sha256'][:8]} | "
            f"{c['auc']:.3f} [{c['ci_lower']:.3f}, {c['ci_upper']:.3f}] | {ci(m['frechet'])} vs {ci(b['frechet'])} | "
            f"{ci(m['precision'])} vs {b['precision']['estimate']:.2f} | {ci(m['recall'])} vs "
            f"{b['recall']['estimate']:.2f} | {ci(m['coverage'])} | {ci(hf)} vs {ci(hfb)} | "
            f"{ci(met['synthetic_auc'])} vs {ci(met['real_auc'])} |")


def verdict(measure):
    """An obedience measure's verdict: version 2's field, or version 1's pass/FAIL."""
    return measure.get("verdict") or ("pass" if measure.get("passed") else "FAIL")


def speed_rate(work, tag):
    """Scans per second of speed-TAG.json, or None where it does not exist."""
    p = os.path.join(work, f"speed-{tag}.json")
    if not os.path.exists(p):
        return None
    s = json.load(open(p))
    return s["scans"] / s["seconds"]


def speed_row(work, prefix, cell, base):
    """One speed-table row for the interleaved rounds speed-PREFIX-CELL-rR.json (R = 1..3): the
    rates, their median, and the median of the per-round ratios to the base cell's."""
    rates = [speed_rate(work, f"{prefix}-{cell}-r{r}") for r in (1, 2, 3)]
    bases = [speed_rate(work, f"{prefix}-{base}-r{r}") for r in (1, 2, 3)]
    ratios = [x / b for x, b in zip(rates, bases) if x and b]
    have = [x for x in rates if x]
    if not have:
        return f"| {cell} | - | - | - |"
    return (f"| {cell} | {', '.join(f'{x:.2f}' if x else '-' for x in rates)} | "
            f"{statistics.median(have):.2f} | {statistics.median(ratios):.2f} |")


def print_speed_table(work, prefix, cells, base, base_label):
    """The speed table of speed_row's rows, the ratios to the base cell (named base_label)."""
    print(f"| cell | scans/s, rounds 1-3 | median | ratio to {base_label} (median of rounds) |")
    print("|---|---|---|---|")
    for cell in cells:
        print(speed_row(work, prefix, cell, base))


def print_obedience_table(work, cells):
    """One row per obedience-CELL.json: the verdict and every measure's generated AUC and verdict."""
    print("| cell | obedience | measures |")
    print("|---|---|---|")
    for cell in cells:
        p = os.path.join(work, f"obedience-{cell}.json")
        if not os.path.exists(p):
            continue
        o = json.load(open(p))
        parts = []
        for x in o["measures"]:
            auc = x.get("generated_auc", x.get("generated_auc_3_vs_0", {}))
            c = auc.get("ci") or {}
            est = f" {auc['estimate']:.2f} [{c.get('lower', float('nan')):.2f}, {c.get('upper', float('nan')):.2f}]" \
                if "estimate" in auc else ""
            parts.append(f"{x.get('measure', '?')}{est}: {verdict(x)}")
        print(f"| {cell} | {'pass' if o['passed'] else 'FAIL'} | {'; '.join(parts)} |")


def privacy_cells(a):
    """'memorised | membership' cells of one loaded audit.json: flagged of the synthetic scans, and
    the two attacks' AUCs with their verdict; 'not run' for a section the audit did not run (no
    --train, or --skip)."""
    s = a["sections"]
    mem, ms = s["memorisation"], s["membership"]
    n = a["inputs"]["synthetic"]["scans"]
    memorised = f"{mem['flagged']} of {n} ({'pass' if mem['verdict']['pass'] else 'FAIL'})" if "flagged" in mem \
        else "not run"
    membership = (f"{ci(ms['generator_attack'])} (generator), {ci(ms['distance_attack'])} (distance): "
                  f"{'pass' if ms['verdict']['pass'] else 'FAIL'}") if "generator_attack" in ms else "not run"
    return f"{memorised} | {membership} |"


def print_audit_table(work, prefix, cells, privacy=False):
    """One AUDIT_HEADER row per audit-PREFIXCELL/audit.json that exists; with privacy, the
    memorised and membership columns as well."""
    if privacy:
        print(AUDIT_HEADER[:-1] + "| memorised | membership AUC |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
    else:
        print(AUDIT_HEADER)
        print("|---|---|---|---|---|---|---|---|---|")
    for cell in cells:
        p = os.path.join(work, f"audit-{prefix}{cell}", "audit.json")
        if os.path.exists(p):
            a = json.load(open(p))
            print(f"| {cell} | {audit_cells(a)}{privacy_cells(a) if privacy else ''}")


def row(work, tag):
    a = json.load(open(os.path.join(work, f"audit-{tag}", "audit.json")))
    s = a["sections"]
    sp = json.load(open(os.path.join(work, f"speed-{tag}.json")))
    m, b = s["fidelity"]["matched"], s["fidelity"]["baseline"]
    c = s["c2st"]
    hf = s["image_stats"]["comparison"]["distances"]["high_frequency_ratio"]["wasserstein_sd"]
    hfb = s["image_stats"]["baseline"]["distances"]["high_frequency_ratio"]["wasserstein_sd"]
    lab = s["label_fidelity"]["labels"]
    met = lab["metastasis"]
    g1 = lab.get("perugini_1_vs_0", {})
    mem = s["memorisation"]
    mship = s["membership"]
    mem_txt = "-" if "skipped" in mem else f"{mem.get('flagged', mem.get('encoder', {}).get('flagged', '?'))}"
    ms_txt = "-" if "skipped" in mship else json.dumps(mship.get("verdict", {}).get("text", ""))[:60]
    return (f"| {tag} | {sp['scans'] / sp['seconds']:.2f} | {c['auc']:.3f} [{c['ci_lower']:.3f}, {c['ci_upper']:.3f}] | "
            f"{ci(m['frechet'])} vs {ci(b['frechet'])} | {ci(m['precision'])} vs {b['precision']['estimate']:.2f} | "
            f"{ci(m['recall'])} vs {b['recall']['estimate']:.2f} | {ci(m['coverage'])} | "
            f"{ci(hf)} vs {ci(hfb)} | {ci(met['synthetic_auc'])} vs {ci(met['real_auc'])} | "
            f"{ci(g1['synthetic_auc']) if g1 else '-'} | {mem_txt} | {ms_txt} |")


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "."
    tags = sorted(p[len(os.path.join(work, "audit-")):-len("/audit.json")]
                  for p in glob.glob(os.path.join(work, "audit-*/audit.json")))
    print("| candidate | scans/s | C2ST AUC | FD matched vs baseline | precision vs baseline | recall vs baseline | "
          "coverage | HF ratio W1/sd vs baseline | metastasis AUC syn vs real | grade 1 vs 0 syn | memorised | membership |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for t in tags:
        if os.path.exists(os.path.join(work, f"speed-{t}.json")):
            print(row(work, t))


if __name__ == "__main__":
    main()
