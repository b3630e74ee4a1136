#!/usr/bin/env python3
"""Markdown table of the baseline experiment (scripts/experiments/baseline.sh) from its reports.

Usage: baseline_table.py OUT [--command TEXT] [--seconds N]  > OUT/baseline.md
Reads OUT/report_{metastasis,cardiac}.json (classify eval --model small_large --compare small)
and the four classifier folders; every number printed is read from those files.
"""
import argparse
import json
import os
import platform


def load(path):
    with open(path) as f:
        return json.load(f)


def auc_text(a):
    if not isinstance(a, dict) or "error" in a:
        return "n/a (%s)" % (a.get("error", "?") if isinstance(a, dict) else "?")
    return "%.3f [%.3f, %.3f]" % (a["estimate"], a["ci"]["lower"], a["ci"]["upper"])


def p_text(p):
    if p < 1e-4:
        return "<0.0001"
    return "%.4f" % p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--command", default="scripts/experiments/baseline.sh")
    ap.add_argument("--seconds", type=float, default=float("nan"))
    args = ap.parse_args()
    lines = []
    w = lines.append
    w("# Baseline: small centre vs small + large centre, tested on four external sites")
    w("")
    w("Made by `%s` in %.0f min on %s (%d cores)." % (args.command, args.seconds / 60, platform.machine(), os.cpu_count()))
    w("")
    for task in ("metastasis", "cardiac"):
        rep = load(os.path.join(args.out, "report_%s.json" % task))
        w("## %s" % ("Metastasis" if task == "metastasis" else "Cardiac uptake (Perugini grade >= 2)"))
        w("")
        w("| training set | scans (positive) | validation AUC (best epoch) | epochs | threshold |")
        w("|---|---|---|---|---|")
        for arm, label in (("small", "small centre"), ("small_large", "small + large centre")):
            info = load(os.path.join(args.out, "clf_%s_%s" % (task, arm), "classifier.json"))
            t = info["training"]
            w("| %s | %d (%d) | %.3f (%d) | %d%s | %.3f |" % (label, t["train_scans"] + t["val_scans"],
              t["train_positives"] + t["val_positives"], t["best_val_auc"], t["best_epoch"], t["epochs_run"],
              " (early stop)" if t["early_stopped"] else "", t["threshold"]))
        w("")
        w("| external site | scans | positives | AUC small centre [95% CI] | AUC small + large [95% CI] | difference | DeLong p (paired) | survival: log-rank p, predicted +/- (small + large) |")
        w("|---|---|---|---|---|---|---|---|")
        for d in rep["datasets"]:
            g = d["overall"]
            name = os.path.basename(d.get("path", d.get("dataset", "?")).rstrip("/"))
            dl = g.get("delong_paired", {})
            if isinstance(dl, dict) and "p_value" in dl:
                diff, p = "%+.3f" % dl["estimate"], p_text(dl["p_value"])
            else:
                diff, p = "n/a", "n/a (%s)" % dl.get("error", "?")
            surv = d.get("survival") or {}
            lr = surv.get("log_rank", {}) if isinstance(surv, dict) else {}
            if isinstance(lr, dict) and "p_value" in lr:
                km = surv.get("kaplan_meier", {})
                npos = km.get("predicted_positive", {}).get("n", "?") if isinstance(km, dict) else "?"
                s_text = "%s (%s predicted +)" % (p_text(lr["p_value"]), npos)
            else:
                s_text = "n/a"
            w("| %s | %d | %d | %s | %s | %s | %s | %s |" % (name, g["n"], g["positives"], auc_text(g.get("compare_auc")),
              auc_text(g.get("auc")), diff, p, s_text))
        w("")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
