#!/usr/bin/env python3
"""Reference values for src/audit/metrics.h and src/audit/linear.h, computed independently with
NumPy, SciPy and scikit-learn (tests/audit/metrics_test.cc, tests/audit/linear_test.cc).

Usage: audit_metrics_reference.py CASES.json > REFERENCE.json

CASES.json:
  {"metrics": [{"real": [[...], ...], "fake": [[...], ...], "k_pr": 3, "k_dc": 5}, ...],
   "logistic": [{"x": [[...], ...], "y": [0, 1, ...], "C": 1.0, "x_test": [[...], ...]}, ...]}
Output, one entry per case in the same order:
  {"metrics": [{"fd", "mmd2", "precision", "recall", "density", "coverage",
                "fake_in_real", "fake_real_balls", "real_in_fake", "real_covered"}, ...],
   "logistic": [{"coef", "intercept", "proba", "proba_test"}, ...]}

- FD: the usual FID code, scipy.linalg.sqrtm(S_a S_b) (real part), sample covariances (n - 1).
- MMD^2: unbiased estimate with k(x, y) = (x.y / d + 1)^3.
- Precision/recall/density/coverage: exact squared distances (sum of squared differences), the
  radius of a point its k-th nearest neighbour in its own set (itself excluded), balls strict.
- Logistic regression: StandardScaler (ddof 0) then LogisticRegression(C, penalty="l2",
  solver="newton-cholesky", tol=1e-12, max_iter=10000); coef on the standardised features.
  newton-cholesky (scikit-learn >= 1.2) reaches a gradient of ~1e-12; lbfgs stops at ~1e-5 and
  newton-cg's line search stalls near 1e-9 on d > n, too loose for a 1e-6 comparison.
"""
import json
import sys
import warnings

import numpy as np
import scipy.linalg
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def frechet(a, b):
    mu_a, mu_b = a.mean(0), b.mean(0)
    sa, sb = np.cov(a, rowvar=False, ddof=1), np.cov(b, rowvar=False, ddof=1)
    sa, sb = np.atleast_2d(sa), np.atleast_2d(sb)
    covmean = scipy.linalg.sqrtm(sa @ sb, disp=False)[0]
    covmean = np.real(covmean)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(sa) + np.trace(sb) - 2.0 * np.trace(covmean))


def mmd2(a, b):
    d = a.shape[1]
    kaa = (a @ a.T / d + 1.0) ** 3
    kbb = (b @ b.T / d + 1.0) ** 3
    kab = (a @ b.T / d + 1.0) ** 3
    n, m = len(a), len(b)
    return float((kaa.sum() - np.trace(kaa)) / (n * (n - 1)) + (kbb.sum() - np.trace(kbb)) / (m * (m - 1))
                 - 2.0 * kab.mean())


def sq_dist(x, y):
    # Exact sums of squared differences (no Gram shortcut), row by row.
    return np.stack([((x[i][None, :] - y) ** 2).sum(1) for i in range(len(x))])


def kth_radius(dist_self, k):
    # k-th smallest distance to the others: drop the diagonal (the point itself).
    n = dist_self.shape[0]
    off = dist_self[~np.eye(n, dtype=bool)].reshape(n, n - 1)
    return np.sort(off, axis=1)[:, k - 1]


def prdc(real, fake, k_pr, k_dc):
    d_rr, d_ff, d_rf = sq_dist(real, real), sq_dist(fake, fake), sq_dist(real, fake)
    r_pr, r_dc, f_pr = kth_radius(d_rr, k_pr), kth_radius(d_rr, k_dc), kth_radius(d_ff, k_pr)
    fake_in_real = (d_rf < r_pr[:, None]).any(0)
    fake_real_balls = (d_rf < r_dc[:, None]).sum(0)
    real_in_fake = (d_rf < f_pr[None, :]).any(1)
    real_covered = (d_rf < r_dc[:, None]).any(1)
    return {
        "precision": float(fake_in_real.mean()),
        "recall": float(real_in_fake.mean()),
        "density": float(fake_real_balls.sum() / (k_dc * len(fake))),
        "coverage": float(real_covered.mean()),
        "fake_in_real": fake_in_real.astype(int).tolist(),
        "fake_real_balls": fake_real_balls.astype(int).tolist(),
        "real_in_fake": real_in_fake.astype(int).tolist(),
        "real_covered": real_covered.astype(int).tolist(),
    }


def logistic(case):
    x, y = np.asarray(case["x"], float), np.asarray(case["y"], int)
    scaler = StandardScaler().fit(x)
    clf = LogisticRegression(C=case["C"], penalty="l2", solver="newton-cholesky", tol=1e-12, max_iter=10000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(scaler.transform(x), y)
    out = {
        "coef": clf.coef_[0].tolist(),
        "intercept": float(clf.intercept_[0]),
        "proba": clf.predict_proba(scaler.transform(x))[:, 1].tolist(),
    }
    if case.get("x_test"):
        out["proba_test"] = clf.predict_proba(scaler.transform(np.asarray(case["x_test"], float)))[:, 1].tolist()
    return out


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    out = {"metrics": [], "logistic": []}
    for c in cases.get("metrics", []):
        real, fake = np.asarray(c["real"], float), np.asarray(c["fake"], float)
        r = {"fd": frechet(real, fake), "mmd2": mmd2(real, fake)}
        if c.get("k_pr"):
            r.update(prdc(real, fake, c["k_pr"], c["k_dc"]))
        out["metrics"].append(r)
    for c in cases.get("logistic", []):
        out["logistic"].append(logistic(c))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
