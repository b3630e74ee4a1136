#!/usr/bin/env python3
"""The generator-fidelity table (docs/experiments/fidelity.md) from audit-TAG/audit.json and
speed-TAG.json (seconds for 48 scans) in a work folder: usage fidelity_table.py WORKDIR."""
import glob
import json
import os
import sys


def ci(x, digits=2):
    est = x["estimate"]
    c = x.get("ci") or {}
    if c.get("lower") is None:
        return f"{est:.{digits}f}"
    return f"{est:.{digits}f} [{c['lower']:.{digits}f}, {c['upper']:.{digits}f}]"


AUDIT_HEADER = ("| cell | encoder | C2ST AUC [95% CI] | matched FD vs baseline | precision vs baseline | "
                "recall vs baseline | coverage | HF excess W1/sd vs baseline | metastasis AUC, synthetic vs real |")


def audit_cells(path):
    """The cells after the first of an AUDIT_HEADER row, from one audit.json."""
    a = json.load(open(path))
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
