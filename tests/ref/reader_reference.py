#!/usr/bin/python3
"""Reference values for `scintigen reader report` (src/reader/report.cc), computed independently
from the answers the C++ test writes, for tests/reader/reader_report_reference_test.cc.

Usage: reader_reference.py DIR

Reads DIR/answers_long.csv (reader,case,origin,call,confidence,metastasis,grade,label_metastasis,
label_grade; one row per answer), DIR/study.json (readers, cases, margin, conf_level) and
DIR/report.json (the C++ report: only its pooled estimates and SEs are used, for the formulas
given an SE: the z-TOST and the normal CIs). Writes DIR/expected_python.tsv, lines
`key<TAB>value` (%.17g or NA).

Closed forms: statsmodels proportion_confint(method="wilson"), binom_tost, fleiss_kappa;
scikit-learn cohen_kappa_score, roc_auc_score; SciPy norm. The bootstraps follow the definitions
in docs/READER.md with NumPy's own generator (so only Monte Carlo agreement is expected): for
the pooled realness the three bootstraps of Beiden, Wagner & Campbell (2000) -- two-way
(readers and cases within origin resampled together; the statistic is the mean over the drawn
readers of each reader's statistic on the drawn cases), readers only (cases fixed), cases
within origin only (readers fixed) -- combined as V = 2 (V_readers + V_cases) - V_both,
truncated at V_cases; for diagnosis, cases within origin with the readers fixed.
"""
import csv
import json
import math
import sys

import numpy as np
from scipy.stats import norm
from sklearn.metrics import cohen_kappa_score, roc_auc_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa
from statsmodels.stats.proportion import binom_tost, proportion_confint

DIR = sys.argv[1]
B = 10000  # replicates of the reference bootstraps
out = []


def put(key, value):
    if value is None or not math.isfinite(float(value)):
        out.append(f"{key}\tNA")
    else:
        out.append(f"{key}\t{float(value):.17g}")


study = json.load(open(f"{DIR}/study.json"))
report = json.load(open(f"{DIR}/report.json"))
readers, cases, margin, conf = study["readers"], study["cases"], study["margin"], study["conf_level"]
alpha = 1 - conf
rows = list(csv.DictReader(open(f"{DIR}/answers_long.csv")))
by = {(r["reader"], r["case"]): r for r in rows}
origin = {r["case"]: r["origin"] for r in rows}


def wilson(key, k, n):
    lo, hi = proportion_confint(k, n, alpha=alpha, method="wilson")
    put(f"{key}.est", k / n)
    put(f"{key}.lo", lo)
    put(f"{key}.hi", hi)


def rating(r):
    c = int(r["confidence"])
    return 5 + c if r["call"] == "synthetic" else 6 - c


# ---- realness per reader (all answered cases) ----
for name in readers:
    mine = [r for r in rows if r["reader"] == name]
    right = [(r["call"] == r["origin"]) for r in mine]
    syn = [r for r in mine if r["origin"] == "synthetic"]
    real = [r for r in mine if r["origin"] == "real"]
    k = f"reader.{name}"
    wilson(f"{k}.accuracy", sum(right), len(mine))
    wilson(f"{k}.sensitivity", sum(r["call"] == "synthetic" for r in syn), len(syn))
    wilson(f"{k}.specificity", sum(r["call"] == "real" for r in real), len(real))
    put(f"{k}.auc", roc_auc_score([r["origin"] == "synthetic" for r in mine], [rating(r) for r in mine]))
    p, p_low, p_high = binom_tost(sum(right), len(mine), 0.5 - margin, 0.5 + margin)
    put(f"{k}.tost.low", p_low)
    put(f"{k}.tost.high", p_high)
    put(f"{k}.tost.p", p)

# ---- complete cases: answered by every reader ----
complete = [c for c in cases if all((n, c) in by for n in readers)]
calls = np.array([[by[(n, c)]["call"] for n in readers] for c in complete])
table, _ = aggregate_raters(calls)
put("agreement.fleiss", fleiss_kappa(table, method="fleiss"))
for i in range(len(readers)):
    for j in range(i + 1, len(readers)):
        put(f"agreement.cohen.{readers[i]}.{readers[j]}", cohen_kappa_score(calls[:, i], calls[:, j]))

# per reader x complete case: right call, rating; per case: synthetic
is_syn = np.array([origin[c] == "synthetic" for c in complete])
right = np.array([[by[(n, c)]["call"] == origin[c] for c in complete] for n in readers], dtype=float)
score = np.array([[rating(by[(n, c)]) for c in complete] for n in readers], dtype=float)
real_idx, syn_idx = np.flatnonzero(~is_syn), np.flatnonzero(is_syn)


def auc_rows(s_pos, s_neg):
    """Mann-Whitney AUC per leading index: s_pos (..., P), s_neg (..., N)."""
    d = s_pos[..., :, None] - s_neg[..., None, :]
    return ((d > 0) + 0.5 * (d == 0)).mean(axis=(-1, -2))


def reader_stats(ri, real_cases, syn_cases):
    """Each statistic, averaged over the readers ri, on the given case index arrays.
    Shapes: ri (B, R), real_cases (B, Nr), syn_cases (B, Ns)."""
    Bn = ri.shape[0]
    rr = right[ri[:, :, None], real_cases[:, None, :]]  # (B, R, Nr)
    rs = right[ri[:, :, None], syn_cases[:, None, :]]  # (B, R, Ns)
    sens = rs.mean(axis=2).mean(axis=1)
    spec = rr.mean(axis=2).mean(axis=1)
    acc = np.concatenate([rr, rs], axis=2).mean(axis=2).mean(axis=1)
    auc = np.empty(Bn)
    for b in range(Bn):
        sp = score[ri[b][:, None], syn_cases[b][None, :]]  # (R, Ns)
        sn = score[ri[b][:, None], real_cases[b][None, :]]  # (R, Nr)
        auc[b] = auc_rows(sp, sn).mean()
    return {"accuracy": acc, "sensitivity": sens, "specificity": spec, "auc": auc}


def summarise(key, estimate, reps):
    reps = np.sort(reps[np.isfinite(reps)])
    put(f"{key}.est", estimate)
    put(f"{key}.se", reps.std(ddof=1))
    put(f"{key}.lo", np.quantile(reps, alpha / 2))  # NumPy's default is R's type 7
    put(f"{key}.hi", np.quantile(reps, 1 - alpha / 2))


rng = np.random.default_rng(20261203)
R = len(readers)
point = reader_stats(np.arange(R)[None, :], real_idx[None, :], syn_idx[None, :])
all_readers = np.broadcast_to(np.arange(R), (B, R))
all_real, all_syn = np.broadcast_to(real_idx, (B, len(real_idx))), np.broadcast_to(syn_idx, (B, len(syn_idx)))


def draw_cases():
    return (
        real_idx[rng.integers(0, len(real_idx), size=(B, len(real_idx)))],
        syn_idx[rng.integers(0, len(syn_idx), size=(B, len(syn_idx)))],
    )


ri = rng.integers(0, R, size=(B, R))
rc, sc = draw_cases()
both = reader_stats(ri, rc, sc)  # two-way
readers_only = reader_stats(rng.integers(0, R, size=(B, R)), all_real, all_syn)
cases_only = reader_stats(all_readers, *draw_cases())
z = norm.ppf(1 - alpha / 2)
pooled = report["realness"]["pooled"]
for s in ("accuracy", "sensitivity", "specificity", "auc"):
    k = f"pooled.{s}"
    v_r, v_c, v_b = readers_only[s].var(ddof=1), cases_only[s].var(ddof=1), both[s].var(ddof=1)
    v = 2 * (v_r + v_c) - v_b
    put(f"{k}.est", point[s][0])
    put(f"{k}.se", math.sqrt(max(v, v_c)))
    put(f"{k}.v_readers", v_r)
    put(f"{k}.v_cases", v_c)
    put(f"{k}.v_both", v_b)
    summarise(f"{k}.two_way", point[s][0], both[s])
    # the normal CI on the report's own estimate and SE
    est, se = pooled[s]["estimate"], pooled[s]["se"]
    put(f"{k}.ci.lo", min(max(est - z * se, 0.0), 1.0))
    put(f"{k}.ci.hi", min(max(est + z * se, 0.0), 1.0))

# z-TOST on the report's estimate and corrected SE
pa = pooled["accuracy"]
est, se = pa["estimate"], pa["se"]
put("pooled.tost.low", norm.sf((est - (0.5 - margin)) / se))
put("pooled.tost.high", norm.cdf((est - (0.5 + margin)) / se))

# ---- diagnosis per reader and origin (answered cases with a label) ----
for name in readers:
    for org in ("real", "synthetic"):
        mine = [r for r in rows if r["reader"] == name and r["origin"] == org]
        k = f"diagnosis.{name}.{org}"
        m = [r for r in mine if r["metastasis"] != "" and r["label_metastasis"] != ""]
        call = [int(r["metastasis"]) for r in m]
        truth = [int(r["label_metastasis"]) for r in m]
        wilson(f"{k}.mets.accuracy", sum(a == t for a, t in zip(call, truth)), len(m))
        wilson(f"{k}.mets.sensitivity", sum(a == 1 and t == 1 for a, t in zip(call, truth)), truth.count(1))
        wilson(f"{k}.mets.specificity", sum(a == 0 and t == 0 for a, t in zip(call, truth)), truth.count(0))
        put(f"{k}.mets.kappa", cohen_kappa_score(call, truth))
        g = [r for r in mine if r["grade"] != "" and r["label_grade"] != ""]
        call = [int(r["grade"]) for r in g]
        truth = [int(r["label_grade"]) for r in g]
        wilson(f"{k}.grade.accuracy", sum(a == t for a, t in zip(call, truth)), len(g))
        put(f"{k}.grade.kappa", cohen_kappa_score(call, truth, weights="quadratic"))

# ---- diagnosis pooled: complete cases, case bootstrap within origin, readers fixed ----
complete_d = [c for c in cases if all((n, c) in by for n in readers)]
is_syn_d = np.array([origin[c] == "synthetic" for c in complete_d])


def hits(field, label):
    """(cases,) number of readers right, and (cases,) whether the case has the label."""
    has = np.array([by[(readers[0], c)][label] != "" for c in complete_d])
    n = np.array(
        [
            sum(by[(r, c)][field] != "" and by[(r, c)][field] == by[(r, c)][label] for r in readers) if h else 0
            for c, h in zip(complete_d, has)
        ],
        dtype=float,
    )
    return n, has


def pooled_accuracy(n, has, idx):
    """Mean over readers of the share right among the labelled cases idx (..., k)."""
    return n[idx].sum(axis=-1) / (has[idx].sum(axis=-1) * len(readers))


r_idx, s_idx = np.flatnonzero(~is_syn_d), np.flatnonzero(is_syn_d)
rb = r_idx[rng.integers(0, len(r_idx), size=(B, len(r_idx)))]
sb = s_idx[rng.integers(0, len(s_idx), size=(B, len(s_idx)))]
LABELS = (("metastasis_accuracy", "metastasis", "label_metastasis"), ("grade_accuracy", "grade", "label_grade"))
for key, field, label in LABELS:
    n, has = hits(field, label)
    with np.errstate(invalid="ignore", divide="ignore"):
        ar, as_ = pooled_accuracy(n, has, r_idx), pooled_accuracy(n, has, s_idx)
        br, bs = pooled_accuracy(n, has, rb), pooled_accuracy(n, has, sb)
    k = f"diagnosis.pooled.{key}"
    summarise(f"{k}.real", ar, br)
    summarise(f"{k}.synthetic", as_, bs)
    summarise(f"{k}.difference", ar - as_, br - bs)

with open(f"{DIR}/expected_python.tsv", "w") as f:
    f.write("\n".join(out) + "\n")
