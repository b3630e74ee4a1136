#!/usr/bin/env python3
"""Markdown tables of a `scintigen study` report (OUT/report.json), for docs/experiments/.

Usage: scripts/experiments/study_table.py OUT/report.json > tables.md

Every number is read from the report as the study wrote it (nothing is recomputed here): per task,
the pooled external AUC, gain, relative gain and share of the donor's gain recovered with their
hierarchical bootstrap CIs; per site, the AUC mean +- sd over repeats and the DeLong contrast of
the mean gain (p and Holm-adjusted p); the internal test AUC; survival (hazard ratio of the
predicted group, C-index); subgroup AUCs; each synthetic set's audit; the primary endpoint.
Standard library only.
"""
import json
import sys


def num(x, fmt="{:.3f}"):
    return "n/a" if x is None else fmt.format(x)


def est_ci(j, fmt="{:.3f}"):
    """'estimate [lower, upper]' of a statistics JSON object, or its error."""
    if not isinstance(j, dict):
        return "n/a"
    if "error" in j:
        return "error: " + j["error"]
    s = num(j.get("estimate"), fmt)
    ci = j.get("ci")
    if isinstance(ci, dict) and "lower" in ci:
        s += " [" + num(ci["lower"], fmt) + ", " + num(ci["upper"], fmt) + "]"
    return s


def mean_sd(j, fmt="{:.3f}"):
    if not isinstance(j, dict):
        return "n/a"
    if "error" in j:
        return "error"
    s = num(j.get("estimate", j.get("mean")), fmt)
    if j.get("sd") is not None:
        s += " ± " + num(j["sd"], fmt)
    return s


def pvalue(p):
    if p is None:
        return "n/a"
    return "<0.001" if p < 0.001 else "{:.3f}".format(p)


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def task_tables(t, internal):
    name = t["task"]
    out = ["### Task: " + name, ""]
    sites = t["sites"]
    flagged = [s["site"] for s in sites if s.get("flagged")]
    out.append("External sites: " + ", ".join(
        "{} ({} cases, {} positive)".format(s["site"], s["cases"], s["positives"]) for s in sites) + "."
        + (" Flagged (fewer than min_positives): " + ", ".join(flagged) + "." if flagged else ""))
    out.append("")
    rows = []
    share_note = ""
    for a in t["arms"]:
        p = a.get("pooled", {})
        share = p.get("share_recovered")
        share_cell = ""
        if isinstance(share, dict) and "error" in share:  # one reason for every arm: said once, below
            share_note, share_cell = share["error"], "not estimable"
        elif share:
            share_cell = est_ci(share)
        rows.append([a["arm"], est_ci(p.get("auc")), est_ci(p.get("gain")) if "gain" in p else "(baseline)",
                     est_ci(p.get("relative_gain")) if "relative_gain" in p else "", share_cell,
                     mean_sd(internal.get(a["arm"], {}).get("auc"))])
    out.append("Pooled over the external sites (mean over repeats; 95% hierarchical bootstrap CI), and the "
               "internal test AUC (mean ± sd over repeats):")
    out.append("")
    out.append(table(["arm", "pooled AUC", "gain", "relative gain", "share of donor gain", "internal test AUC"], rows))
    out.append("")
    if share_note:
        out.append("Share of the donor's gain: " + share_note + ".")
        out.append("")
    rows = []
    for a in t["arms"]:
        row = [a["arm"]]
        for s in a["sites"]:
            if "error" in s:
                row.append("error")
                continue
            cell = mean_sd(s["auc"])
            if "contrast" in s and isinstance(s["contrast"], dict) and "p_value" in s["contrast"]:
                c = s["contrast"]
                cell += " (gain {:+.3f}, p {}, Holm {})".format(c["estimate"], pvalue(c["p_value"]),
                                                               pvalue(c.get("p_holm")))
            row.append(cell)
        rows.append(row)
    out.append("Per site: AUC mean ± sd over repeats; for the other arms, the DeLong contrast of the mean gain "
               "over the baseline (two-sided p, Holm-adjusted across sites and tasks):")
    out.append("")
    out.append(table(["arm"] + [s["site"] for s in sites], rows))
    out.append("")
    surv = t.get("survival")
    if isinstance(surv, dict) and "cases" in surv:
        rows = []
        lab = surv.get("true_label")
        for a in t["arms"]:
            s = a.get("survival", {})
            rows.append([a["arm"], mean_sd(s.get("hazard_ratio"), "{:.2f}"), mean_sd(s.get("c_index"))])
        out.append("Survival ({} cases, {} events; Cox model of the predicted group adjusted for age and sex; "
                   "mean ± sd over repeats):".format(surv["cases"], surv["events"]))
        out.append("")
        if isinstance(lab, dict) and lab.get("terms"):
            out.append("True label (the best achievable), same model: hazard ratio {}.".format(
                est_ci(lab["terms"][0].get("hazard_ratio"), "{:.2f}")))
            out.append("")
        out.append(table(["arm", "hazard ratio", "C-index"], rows))
        out.append("")
    subgroups = t.get("subgroups") or []
    if subgroups:
        names = [g["subgroup"] for g in subgroups]
        rows = []
        for a in t["arms"]:
            by = {g.get("subgroup"): g for g in a.get("subgroups", [])}
            row = [a["arm"]]
            for n in names:
                g = by.get(n, {})
                cell = mean_sd(g.get("auc")) if "auc" in g else ("error" if g else "")
                c = g.get("contrast")
                if isinstance(c, dict) and "p_value" in c:
                    cell += " (gain {:+.3f}, p {})".format(c["estimate"], pvalue(c["p_value"]))
                row.append(cell)
            rows.append(row)
        out.append("Subgroups, all external sites pooled (AUC mean ± sd over repeats; DeLong contrast of the "
                   "mean gain, unadjusted):")
        out.append("")
        out.append(table(["arm"] + ["{} ({} cases, {} positive)".format(g["subgroup"], g["cases"], g["positives"])
                                    for g in subgroups], rows))
        out.append("")
    return out


def audit_table(audit):
    rows = []
    for name, a in audit.items():
        if not isinstance(a, dict) or "c2st" not in a:
            rows.append([name, "error: " + str(a.get("error", "?")) if isinstance(a, dict) else "?"] + [""] * 6)
            continue
        c = a["c2st"]
        lf = a.get("label_fidelity", {})
        lf_txt = ", ".join("{} {:.3f}".format(k, v["auc"]) for k, v in lf.items() if isinstance(v, dict) and "auc" in v)
        rows.append([name, "{:.3f} [{:.3f}, {:.3f}]".format(c["auc"], c["ci_lower"], c["ci_upper"]),
                     "{:.2f} (baseline {:.2f})".format(a["fd_matched"], a["fd_baseline"]),
                     "{:.2f} / {:.2f}".format(a["precision"], a["recall"]),
                     "{:.2f} / {:.2f}".format(a["density"], a["coverage"]), lf_txt,
                     str(a["memorisation"]["flagged"]),
                     "{:.3f}".format(a["membership"]["auc"])])
    return table(["set", "C2ST AUC [CI]", "FD matched", "precision / recall", "density / coverage",
                  "label fidelity AUC", "memorised", "membership AUC"], rows)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: study_table.py OUT/report.json")
    with open(sys.argv[1]) as f:
        r = json.load(f)
    out = ["## Study '{}'".format(r["study"].get("config", {}).get("name", "?")), ""]
    pe = r.get("primary_endpoint", {})
    out.append("Primary endpoint: {} pooled external AUC gain of '{}' over the baseline: {}; {}.".format(
        pe.get("task"), pe.get("arm"), est_ci(pe.get("pooled_gain")),
        "met" if pe.get("met") else "not met"))
    out.append("")
    for t in r["tasks"]:
        out += task_tables(t, r.get("internal_test", {}).get(t["task"], {}))
    if r.get("audit"):
        out.append("### Audit of each synthetic set (against held-out donor scans)")
        out.append("")
        out.append(audit_table(r["audit"]))
        out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
