#!/usr/bin/python3
"""Reference values for src/study/analysis and its src/stats additions, from NumPy, SciPy and
statsmodels, computed here from the formulas (no scintigen code). Writes seeded cases into OUTDIR;
study_reference.R then adds the R survival values (coxph, concordance) on the same files.

Usage: study_reference.py OUTDIR [REPLICATES]   (the bootstrap reference only when REPLICATES > 0)

Files written:
  study_cases.csv      site,id,label,time,event,age,male,older    one row per case of a small study
                       (time/age NA and event/male -1 where an outcome is missing)
  study_scores.csv     site,id,<arm>.<repeat>,...                 the score of every arm and repeat
  study_design.tsv     arms / repeats / thresholds (arm<TAB>repeat<TAB>threshold)
  contrast_<case>.csv  label,s1,...,sK (and contrast_<case>.w: the weights, one a line)
  holm_<case>.txt      one p-value a line
  conc_<case>.csv      time,event,score
  expected_python.tsv  case<TAB>key<TAB>value (%.17g or NA)
The bootstrap reference repeats the three-level scheme of docs/STUDY.md with NumPy's generator
(default_rng, so not the same draws): its replicate SD and CI ends are compared loosely.
"""
import math
import os
import sys

import numpy as np
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

OUT = sys.argv[1]
BOOT = int(sys.argv[2]) if len(sys.argv) > 2 else 0
expected = []


def put(case, key, value):
    if value is None or not math.isfinite(float(value)):
        expected.append(f"{case}\t{key}\tNA")
    else:
        expected.append(f"{case}\t{key}\t{float(value):.17g}")


# ---- DeLong from its definition (DeLong et al. 1988), O(m n) pairwise -------------------------

def psi(pos, neg):
    """m x n kernel: 1 where the positive scores higher, 1/2 on ties."""
    d = pos[:, None] - neg[None, :]
    return (d > 0) + 0.5 * (d == 0)


def placements(y, s):
    y = np.asarray(y)
    s = np.asarray(s, dtype=float)
    k = psi(s[y == 1], s[y == 0])
    return k.mean(), k.mean(axis=1), k.mean(axis=0)  # AUC, V10 (per positive), V01 (per negative)


def delong_cov(y, score_sets):
    """AUCs and the DeLong covariance S10/m + S01/n of K score sets on the same cases."""
    aucs, v10, v01 = zip(*(placements(y, s) for s in score_sets))
    v10, v01 = np.array(v10), np.array(v01)
    m, n = v10.shape[1], v01.shape[1]
    return np.array(aucs), np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n


def logit_ci(y, s, level=0.95):
    a, cov = delong_cov(y, [s])
    a, se = a[0], math.sqrt(cov[0, 0])
    if a <= 0 or a >= 1:
        return a, se, a, a
    z = sps.norm.ppf(1 - (1 - level) / 2)
    lg, half = math.log(a / (1 - a)), z * se / (a * (1 - a))
    return a, se, 1 / (1 + math.exp(-(lg - half))), 1 / (1 + math.exp(-(lg + half)))


def contrast(y, score_sets, w, level=0.95):
    aucs, cov = delong_cov(y, score_sets)
    w = np.asarray(w, dtype=float)
    est, se = float(w @ aucs), math.sqrt(float(w @ cov @ w))
    z = est / se
    zc = sps.norm.ppf(1 - (1 - level) / 2)
    return est, se, z, 2 * sps.norm.sf(abs(z)), est - zc * se, est + zc * se


rng = np.random.default_rng(20261204)

# ---- contrasts of K correlated AUCs ---------------------------------------------------------
contrast_cases = []
for case, n, k, ties in (("k2", 200, 2, False), ("k6", 300, 6, False), ("k4ties", 150, 4, True)):
    y = (rng.random(n) < 0.35).astype(int)
    common = rng.normal(size=n)
    sets = [y * (0.5 + 0.2 * j) + 0.7 * common + rng.normal(size=n) for j in range(k)]
    if ties:
        sets = [np.round(s) for s in sets]
    w = [1.0, -1.0] if k == 2 else list(rng.normal(size=k))
    with open(os.path.join(OUT, f"contrast_{case}.csv"), "w") as f:
        f.write("label," + ",".join(f"s{j + 1}" for j in range(k)) + "\n")
        for i in range(n):
            f.write(f"{y[i]}," + ",".join(f"{s[i]:.17g}" for s in sets) + "\n")
    with open(os.path.join(OUT, f"contrast_{case}.w"), "w") as f:
        f.write("\n".join(f"{v:.17g}" for v in w) + "\n")
    contrast_cases.append(case)
    est, se, z, p, lo, hi = contrast(y, sets, w)
    for key, v in (("estimate", est), ("se", se), ("z", z), ("p", p), ("lo", lo), ("hi", hi)):
        put(case, f"contrast.{key}", v)
    for j, s in enumerate(sets):
        a, se1, lo1, hi1 = logit_ci(y, s)
        put(case, f"logit.{j}.auc", a)
        put(case, f"logit.{j}.se", se1)
        put(case, f"logit.{j}.lo", lo1)
        put(case, f"logit.{j}.hi", hi1)

# ---- Holm ------------------------------------------------------------------------------------
holm_cases = {
    "random": rng.random(12) ** 3,
    "ties": np.array([0.01, 0.04, 0.04, 0.2, 0.01, 0.5]),
    "large": np.array([0.3, 0.6, 0.9, 0.45]),
    "one": np.array([0.02]),
}
for case, p in holm_cases.items():
    with open(os.path.join(OUT, f"holm_{case}.txt"), "w") as f:
        f.write("\n".join(f"{v:.17g}" for v in p) + "\n")
    adj = multipletests(p, method="holm")[1]
    put(case, "holm.n", len(p))
    for i, v in enumerate(adj):
        put(case, f"holm.{i}", v)

# ---- concordance (values from R: study_reference.R) ---------------------------------------
for case, n in (("conc_random", 150), ("conc_tied", 80)):
    if case == "conc_tied":
        time = rng.integers(1, 10, size=n).astype(float)      # many tied times
        score = np.round(rng.normal(size=n), 0)               # many tied scores
    else:
        score = rng.normal(size=n)
        time = np.round(rng.exponential(100 * np.exp(-0.7 * score)), 1)
    event = (rng.random(n) < 0.6).astype(int)
    with open(os.path.join(OUT, f"{case}.csv"), "w") as f:
        f.write("time,event,score\n")
        for row in zip(time, event, score):
            f.write(f"{row[0]:.17g},{row[1]},{row[2]:.17g}\n")

# ---- a small study: 3 sites, 3 arms, 3 repeats ------------------------------------------------
arms = ["small", "small+syn", "small+donor"]
effect = {"small": 0.8, "small+syn": 1.0, "small+donor": 1.3}
repeats = ["r1", "r2", "r3"]
sites = {"alpha": (220, 0.3), "beta": (160, 0.45), "gamma": (260, 0.25)}
rows, scores, labels_of = [], {}, {}
for site, (n, prev) in sites.items():
    y = (rng.random(n) < prev).astype(int)
    labels_of[site] = y
    age = np.round(rng.normal(65, 9, size=n), 1)
    male = (rng.random(n) < 0.55).astype(int)
    hazard = 0.002 * np.exp(0.9 * y + 0.02 * (age - 65) + 0.2 * male)
    t_event, t_cens = rng.exponential(1 / hazard), rng.uniform(100, 1500, size=n)
    time = np.ceil(np.minimum(t_event, t_cens))
    event = (t_event <= t_cens).astype(int)
    older = (age > 68).astype(int)
    case_effect = rng.normal(size=n)  # a case's difficulty, shared by every classifier
    for i in range(n):
        missing = rng.random() < 0.05
        rows.append((site, f"{site}{i:03d}", y[i], "NA" if missing else f"{time[i]:.17g}", -1 if missing else event[i],
                     f"{age[i]:.17g}", male[i], older[i]))
    for r, rep in enumerate(repeats):
        shared = rng.normal(size=n) * 0.4  # the repeat's draw, shared by the arms (paired repeats)
        for arm in arms:
            raw = effect[arm] * y + 0.6 * case_effect + shared + rng.normal(size=n)
            scores[(arm, rep, site)] = np.round(1 / (1 + np.exp(-raw)), 4)  # probabilities, a few ties
with open(os.path.join(OUT, "study_cases.csv"), "w") as f:
    f.write("site,id,label,time,event,age,male,older\n")
    for row in rows:
        f.write(",".join(str(v) for v in row) + "\n")
with open(os.path.join(OUT, "study_scores.csv"), "w") as f:
    f.write("site,id," + ",".join(f"{a}.{r}" for a in arms for r in repeats) + "\n")
    for site, (n, _) in sites.items():
        for i in range(n):
            f.write(f"{site},{site}{i:03d}," + ",".join(f"{scores[(a, r, site)][i]:.17g}" for a in arms
                                                        for r in repeats) + "\n")
thresholds = {(a, r): float(np.round(0.45 + 0.1 * rng.random(), 3)) for a in arms for r in repeats}
with open(os.path.join(OUT, "study_design.tsv"), "w") as f:
    for (a, r), t in thresholds.items():
        f.write(f"{a}\t{r}\t{t:.17g}\n")

# Per site and arm: the per-repeat logit CIs and the contrast of the mean gain (weights +-1/R).
R = len(repeats)
for site in sites:
    y = labels_of[site]
    for a in arms:
        for r in repeats:
            auc, se, lo, hi = logit_ci(y, scores[(a, r, site)])
            put("study", f"{site}.{a}.{r}.auc", auc)
            put("study", f"{site}.{a}.{r}.lo", lo)
            put("study", f"{site}.{a}.{r}.hi", hi)
        if a == arms[0]:
            continue
        sets = [scores[(a, r, site)] for r in repeats] + [scores[(arms[0], r, site)] for r in repeats]
        est, se, z, p, lo, hi = contrast(y, sets, [1 / R] * R + [-1 / R] * R)
        for key, v in (("estimate", est), ("se", se), ("z", z), ("p", p), ("lo", lo), ("hi", hi)):
            put("study", f"{site}.{a}.contrast.{key}", v)

# The subgroup "older": all sites' cases with older = 1, pooled.
member = {s: np.array([row[7] for row in rows if row[0] == s]) == 1 for s in sites}
ys = np.concatenate([labels_of[s][member[s]] for s in sites])
for a in arms:
    for r in repeats:
        auc, se, lo, hi = logit_ci(ys, np.concatenate([scores[(a, r, s)][member[s]] for s in sites]))
        put("study", f"older.{a}.{r}.auc", auc)
        put("study", f"older.{a}.{r}.lo", lo)
        put("study", f"older.{a}.{r}.hi", hi)
    if a != arms[0]:
        sets = [np.concatenate([scores[(b, r, s)][member[s]] for s in sites]) for b in (a, arms[0]) for r in repeats]
        est, se, z, p, lo, hi = contrast(ys, sets, [1 / R] * R + [-1 / R] * R)
        put("study", f"older.{a}.contrast.estimate", est)
        put("study", f"older.{a}.contrast.se", se)
        put("study", f"older.{a}.contrast.p", p)

# The hierarchical bootstrap, written again from docs/STUDY.md: sites with replacement; within each
# drawn site its positives and its negatives with replacement (the same draws for every arm and
# repeat); repeats with replacement (the same for every arm). Statistic: the mean over drawn sites of
# the mean over drawn repeats of AUC(arm) - AUC(baseline). AUC of a resample = w_pos' psi w_neg / (m n).


def bootstrap_reference():
    site_names = list(sites)
    kern = {}
    for s in site_names:
        y = labels_of[s]
        for a in arms:
            for r in repeats:
                sc = scores[(a, r, s)]
                kern[(a, r, s)] = psi(sc[y == 1], sc[y == 0])
    brng = np.random.default_rng(99)
    gains = {a: np.empty(BOOT) for a in arms[1:]}
    for b in range(BOOT):
        drawn = brng.integers(0, len(site_names), size=len(site_names))
        weights = []
        for k in drawn:
            y = labels_of[site_names[k]]
            m, n = int(y.sum()), int((1 - y).sum())
            weights.append((np.bincount(brng.integers(0, m, size=m), minlength=m),
                            np.bincount(brng.integers(0, n, size=n), minlength=n)))
        reps = brng.integers(0, R, size=R)
        auc = {}
        for j, (k, (wp, wn)) in enumerate(zip(drawn, weights)):  # j: the draw (a site may be drawn twice)
            s = site_names[k]
            for a in arms:
                for r in set(reps):
                    kk = kern[(a, repeats[r], s)]
                    auc[(a, r, j)] = wp @ kk @ wn / (kk.shape[0] * kk.shape[1])
        for a in arms[1:]:
            gains[a][b] = np.mean([np.mean([auc[(a, r, j)] - auc[(arms[0], r, j)] for r in reps])
                                   for j in range(len(drawn))])
    for a in arms[1:]:
        put("study", f"boot.{a}.sd", np.std(gains[a], ddof=1))
        put("study", f"boot.{a}.lo", np.quantile(gains[a], 0.025))
        put("study", f"boot.{a}.hi", np.quantile(gains[a], 0.975))
    put("study", "boot.replicates", BOOT)


if BOOT > 0:
    bootstrap_reference()

with open(os.path.join(OUT, "expected_python.tsv"), "w") as f:
    f.write("\n".join(expected) + "\n")
with open(os.path.join(OUT, "cases.tsv"), "w") as f:
    f.write("\n".join([f"contrast\t{c}" for c in contrast_cases] + [f"holm\t{c}" for c in holm_cases] +
                      ["conc\tconc_random", "conc\tconc_tied"]) + "\n")
