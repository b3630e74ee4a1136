#!/usr/bin/python3
"""Reference cases for src/stats: writes seeded random data and edge cases as CSV files into OUTDIR,
and the values scikit-learn, statsmodels and SciPy compute on them into OUTDIR/expected_python.tsv.
R pROC and survival then read the same files (stats_reference.R).

Usage: stats_cases.py OUTDIR

Expected values are lines `case<TAB>key<TAB>value` (value: %.17g or NA).
Files written:
  roc_<case>.csv      label,score1,score2      (two scores on the same cases: paired tests)
  surv_<case>.csv     time,event,group,x1,x2
  agree_<case>.csv    r1,...,rk,truth          (category labels as text)
  cases.tsv           kind<TAB>case            (the list of cases, read by R and by the C++ test)
"""
import math
import os
import sys

import numpy as np
from scipy import stats as sps
from sklearn.metrics import cohen_kappa_score, roc_auc_score, roc_curve
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa
from statsmodels.stats.proportion import proportion_confint

OUT = sys.argv[1]
expected = []
cases = []


def put(case, key, value):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        expected.append(f"{case}\t{key}\tNA")
    else:
        expected.append(f"{case}\t{key}\t{float(value):.17g}")


def wilson(case, key, x, n):
    if n == 0:
        for k in ("est", "lo", "hi"):
            put(case, f"{key}.{k}", None)
        return
    lo, hi = proportion_confint(x, n, alpha=0.05, method="wilson")
    put(case, f"{key}.est", x / n)
    put(case, f"{key}.lo", lo)
    put(case, f"{key}.hi", hi)


# ---- ROC -------------------------------------------------------------------------------------

def write_roc(case, y, s1, s2):
    y = np.asarray(y, dtype=int)
    with open(os.path.join(OUT, f"roc_{case}.csv"), "w") as f:
        f.write("label,score1,score2\n")
        for a, b, c in zip(y, s1, s2):
            f.write(f"{a},{float(b):.17g},{float(c):.17g}\n")
    cases.append(("roc", case))
    put(case, "n", len(y))
    put(case, "auc1", roc_auc_score(y, s1))
    put(case, "auc2", roc_auc_score(y, s2))
    if len(y) > 5000:
        return
    fpr, tpr, thr = roc_curve(y, s1, drop_intermediate=False)
    put(case, "roc.points", len(fpr))
    for i in range(1, len(fpr)):
        put(case, f"roc.{i}.threshold", thr[i])
        put(case, f"roc.{i}.fpr", fpr[i])
        put(case, f"roc.{i}.tpr", tpr[i])
    s1 = np.asarray(s1)
    P, N = int(y.sum()), int((1 - y).sum())
    # Youden: first maximum of J over the observed thresholds (descending), in exact integers.
    best, best_j = None, None
    for t in thr[1:]:
        tp, fp = int(((s1 >= t) & (y == 1)).sum()), int(((s1 >= t) & (y == 0)).sum())
        j = tp * N - fp * P
        if best_j is None or j > best_j:
            best, best_j = t, j
    for name, t in (("youden", best), ("given", float(np.median(s1)))):
        called = s1 >= t
        tp, fp = int((called & (y == 1)).sum()), int((called & (y == 0)).sum())
        fn, tn = P - tp, N - fp
        put(case, f"{name}.threshold", t)
        wilson(case, f"{name}.sens", tp, P)
        wilson(case, f"{name}.spec", tn, N)
        wilson(case, f"{name}.ppv", tp, tp + fp)
        wilson(case, f"{name}.npv", tn, tn + fn)


rng = np.random.default_rng(20240501)
y = (rng.random(500) < 0.4).astype(int)
s1 = y * 1.0 + rng.normal(size=500)
s2 = 0.6 * s1 + 0.5 * y + rng.normal(scale=0.8, size=500)
write_roc("random", y, s1, s2)

y = (rng.random(300) < 0.5).astype(int)
s1 = np.clip(np.round(y * 1.2 + rng.normal(size=300)) + 2, 0, 5)        # 6 levels: heavy ties
s2 = np.clip(np.round(y * 0.8 + rng.normal(size=300)) + 2, 0, 5)
write_roc("ties", y, s1, s2)

write_roc("n2", [0, 1], [0.2, 0.7], [0.7, 0.2])
write_roc("n4", [0, 1, 0, 1], [0.1, 0.4, 0.35, 0.8], [0.3, 0.3, 0.1, 0.9])
y = np.array([0] * 20 + [1] * 15)
write_roc("perfect", y, np.r_[rng.random(20), 1 + rng.random(15)], np.r_[rng.random(20), 2 + rng.random(15)])
y = np.array([0] * 25 + [1] * 25)
write_roc("perfect_vs_not", y, np.r_[rng.random(25), 1 + rng.random(25)], rng.random(50) + 0.3 * y)
y = (rng.random(200) < 0.5).astype(int)
write_roc("inverted", y, -y + rng.normal(size=200), rng.normal(size=200))
y = np.array([1] * 5 + [0] * 995)
rng.shuffle(y)
write_roc("imbalanced", y, y * 1.5 + rng.normal(size=1000), y * 0.5 + rng.normal(size=1000))
y = (rng.random(100000) < 0.3).astype(int)
s1 = np.round(y * 0.8 + rng.normal(size=100000), 3)                        # some ties
s2 = np.round(0.5 * s1 + y * 0.4 + rng.normal(size=100000), 3)
write_roc("large", y, s1, s2)

# ---- survival --------------------------------------------------------------------------------


def write_surv(case, time, event, group, x1, x2):
    with open(os.path.join(OUT, f"surv_{case}.csv"), "w") as f:
        f.write("time,event,group,x1,x2\n")
        for row in zip(time, event, group, x1, x2):
            t, e, g, a, b = row
            f.write(f"{float(t):.17g},{int(e)},{g},{float(a):.17g},{float(b):.17g}\n")
    cases.append(("surv", case))


n = 240
group = rng.choice(["a", "b", "c"], size=n)
x1 = np.round(rng.normal(size=n), 3)
x2 = (rng.random(n) < 0.5).astype(int)
rate = 0.01 * np.exp(0.5 * (group == "b") + 1.0 * (group == "c") + 0.4 * x1 + 0.3 * x2)
t_event = rng.exponential(1 / rate)
t_cens = rng.uniform(0, 250, size=n)
time = np.ceil(np.minimum(t_event, t_cens))                                # whole days: tied times
event = (t_event <= t_cens).astype(int)
write_surv("random", time, event, group, x1, x2)

n = 80
group = rng.choice(["g1", "g2"], size=n)
time = rng.integers(1, 8, size=n).astype(float)                            # 7 distinct times
event = (rng.random(n) < 0.7).astype(int)
x1 = np.round(rng.normal(size=n) + 0.5 * (group == "g2"), 2)
x2 = (rng.random(n) < 0.4).astype(int)
write_surv("tied", time, event, group, x1, x2)

n = 60
group = np.array(["a"] * 20 + ["b"] * 20 + ["c"] * 20)
time = np.round(rng.exponential(30, size=n), 1) + 0.5
event = (rng.random(n) < 0.6).astype(int)
event[40:] = 0                                                             # group c: all censored
x1 = np.round(rng.normal(size=n), 3)
x2 = (rng.random(n) < 0.5).astype(int)
write_surv("allcens", time, event, group, x1, x2)

# S hits exactly 0.5 (median is a midpoint), plus a censored tail; two groups.
write_surv("half", [1, 2, 3, 4, 2, 3, 5, 6, 6, 9], [1, 1, 1, 1, 1, 0, 1, 0, 1, 0],
           ["a"] * 4 + ["b"] * 6, [0.1, 0.5, -0.3, 0.2, 1.0, -1.2, 0.4, 0.0, 0.7, -0.5], [0, 1, 0, 1, 1, 0, 0, 1, 0, 1])
write_surv("n2", [3, 5], [1, 1], ["a", "a"], [0.0, 1.0], [0, 1])

# ---- agreement -------------------------------------------------------------------------------


def write_agree(case, ratings, truth, perm=False):
    ratings = [[str(v) for v in row] for row in ratings]
    k = len(ratings[0])
    with open(os.path.join(OUT, f"agree_{case}.csv"), "w") as f:
        f.write(",".join(f"r{j + 1}" for j in range(k)) + ",truth\n")
        for row, t in zip(ratings, truth):
            f.write(",".join(row) + f",{t}\n")
    cases.append(("agree", case))
    arr = np.array(ratings)
    table, cats = aggregate_raters(arr)
    put(case, "fleiss.kappa", fleiss_kappa(table, method="fleiss"))
    # Fleiss, Nee & Landis (1979) SE under kappa = 0, from the count table (numpy, not our code).
    N, nr = table.shape[0], table.sum(axis=1)[0]
    p = table.sum(axis=0) / (N * nr)
    q = 1 - p
    se = math.sqrt(2) / (np.sum(p * q) * math.sqrt(N * nr * (nr - 1))) * math.sqrt(
        np.sum(p * q) ** 2 - np.sum(p * q * (q - p)))
    put(case, "fleiss.se", se)
    put(case, "fleiss.p", 2 * sps.norm.sf(abs(fleiss_kappa(table, method="fleiss") / se)))
    if perm:
        # Independent check of the SE: kappa's SD when each rater's column is shuffled (the null),
        # with kappa computed here in numpy from one-hot counts.
        prng = np.random.default_rng(7)
        onehot = np.eye(len(cats))[np.unique(arr, return_inverse=True)[1].reshape(arr.shape)]  # N x k x C
        ks = []
        for _ in range(2000):
            counts = sum(onehot[prng.permutation(N), j, :] for j in range(k))
            pj = counts.sum(axis=0) / (N * nr)
            pbar = ((counts ** 2).sum(axis=1) - nr).sum() / (N * nr * (nr - 1))
            ks.append((pbar - np.sum(pj ** 2)) / (1 - np.sum(pj ** 2)))
        put(case, "fleiss.se_permutation", float(np.std(ks, ddof=1)))
    numeric = all(v.lstrip("-").isdigit() for v in arr.ravel())
    a = arr[:, 0].astype(int) if numeric else arr[:, 0]
    b = arr[:, 1].astype(int) if numeric else arr[:, 1]
    for w in (None, "linear", "quadratic"):
        put(case, f"cohen.{w or 'none'}", cohen_kappa_score(a, b, weights=w))
    all_agree = int(sum(len(set(row)) == 1 for row in ratings))
    wilson(case, "all_agree", all_agree, len(ratings))
    for j in range(k):
        wilson(case, f"accuracy.r{j + 1}", int(sum(r[j] == str(t) for r, t in zip(ratings, truth))), len(ratings))


truth = rng.integers(0, 3, size=60)
ratings = [[t if rng.random() < 0.7 else rng.integers(0, 3) for _ in range(4)] for t in truth]
write_agree("random", ratings, truth, perm=True)
truth = rng.integers(0, 2, size=30)
ratings = [[t if rng.random() < 0.8 else 1 - t for _ in range(2)] for t in truth]
write_agree("binary", ratings, truth)
truth = rng.integers(0, 5, size=200)
ratings = [[int(np.clip(t + rng.integers(-1, 2), 0, 4)) for _ in range(5)] for t in truth]
write_agree("ordinal", ratings, truth, perm=True)
labels = ["mets", "none", "unclear"]
truth = rng.integers(0, 3, size=40)
ratings = [[labels[t] if rng.random() < 0.75 else labels[rng.integers(0, 3)] for _ in range(3)] for t in truth]
write_agree("text", ratings, [labels[t] for t in truth])
# The worked example of Fleiss' kappa (10 subjects, 14 raters, 5 categories; kappa = 0.210).
counts = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
          [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
ratings = [sum(([c + 1] * m for c, m in enumerate(row)), []) for row in counts]
write_agree("fleiss_example", ratings, [1] * 10)
write_agree("perfect", [[1, 1, 1], [0, 0, 0], [1, 1, 1], [0, 0, 0]], [1, 0, 1, 0])

# ---- distributions (SciPy) -------------------------------------------------------------------
for i, p in enumerate([1e-12, 1e-6, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999999]):
    put("dist", f"qnorm.{i}.p", p)
    put("dist", f"qnorm.{i}.value", sps.norm.ppf(p))
for i, (x, df) in enumerate([(0.5, 1), (3.841458820694124, 1), (12.0, 2), (30.5, 3), (0.01, 5), (200.0, 4), (7.3, 10.5)]):
    put("dist", f"chi2.{i}.x", x)
    put("dist", f"chi2.{i}.df", df)
    put("dist", f"chi2.{i}.sf", sps.chi2.sf(x, df))
for i, (t, df) in enumerate([(0.3, 3), (2.1, 10), (-4.5, 25.7), (8.0, 1000.2), (1.96, 1e6)]):
    put("dist", f"t.{i}.t", t)
    put("dist", f"t.{i}.df", df)
    put("dist", f"t.{i}.p2", 2 * sps.t.sf(abs(t), df))
for i, (x, n) in enumerate([(0, 10), (10, 10), (7, 23), (450, 1000), (1, 1)]):
    put("dist", f"wilson.{i}.x", x)
    put("dist", f"wilson.{i}.n", n)
    lo, hi = proportion_confint(x, n, alpha=0.05, method="wilson")
    put("dist", f"wilson.{i}.lo", lo)
    put("dist", f"wilson.{i}.hi", hi)

with open(os.path.join(OUT, "expected_python.tsv"), "w") as f:
    f.write("\n".join(expected) + "\n")
with open(os.path.join(OUT, "cases.tsv"), "w") as f:
    f.write("\n".join(f"{k}\t{c}" for k, c in cases) + "\n")
