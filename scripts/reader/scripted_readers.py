#!/usr/bin/env python3
"""Four scripted readers of known behaviour read a reader study through its HTTP API
(docs/READER.md "A worked study"), as a physician's browser would: GET /api/state, GET
/api/cases/k, PUT /api/answers/<case>. Their rules, fixed before any result:

  random       call real or synthetic with probability 1/2, confidence uniform 1..5;
               metastasis 0/1 with probability 1/2, grade uniform 0..3 (seeded)
  always_real  call "real", confidence 3; metastasis 0, grade 0
  perfect      the truth, read from the study database (origin and labels): the right call,
               confidence 5; the labelled metastasis and grade
  counts       "synthetic" when the scan's total counts (both views, from a png16 export of its
               dataset) exceed the median of the study's cases, else "real"; confidence 3;
               metastasis 0, grade 0

    scripted_readers.py --url http://127.0.0.1:PORT --study STUDY --png DATASET=EXPORT_DIR ...

Only `perfect` and `counts` look behind the API (they stand for a reader who knows the answer,
and for one who judges by a single image statistic); `random` and `always_real` see only what a
browser sees. Prints one line per reader.
"""
import argparse
import json
import os
import random
import sqlite3
import statistics
import urllib.request

import numpy as np
from PIL import Image

READERS = ("random", "always_real", "perfect", "counts")


def request(url, token, method="GET", body=None):
    data = None if body is None else json.dumps(body).encode()
    r = urllib.request.Request(url, data=data, method=method,
                               headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(r) as resp:
        return json.load(resp)


def total_counts(export_dir, scan_id):
    total = 0.0
    for view in ("ant", "post"):
        path = os.path.join(export_dir, f"{scan_id}_{view}.png")
        if os.path.exists(path):
            total += float(np.asarray(Image.open(path), dtype=np.float64).sum())
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--study", required=True)
    ap.add_argument("--png", action="append", default=[], help="DATASET=EXPORT_DIR (png16 export), one per dataset")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    exports = dict(p.split("=", 1) for p in a.png)
    db = sqlite3.connect(os.path.join(a.study, "study.db"))
    truth = {}
    for case_id, origin, dataset, scan_id, labels in db.execute(
            "SELECT case_id, origin, dataset, scan_id, labels_json FROM cases"):
        labels = json.loads(labels)
        truth[case_id] = {"origin": origin, "metastasis": labels.get("metastasis", 0),
                          "grade": labels.get("cardiac_grade", 0),
                          "counts": total_counts(exports[dataset], scan_id) if dataset in exports else None}
    counts = [t["counts"] for t in truth.values() if t["counts"] is not None]
    threshold = statistics.median(counts) if counts else None
    tokens = {}
    for line in open(os.path.join(a.study, "tokens.txt")):
        if line.startswith("#"):
            continue
        name, role, token = line.split()
        if role == "reader":
            tokens[name] = token

    for name in READERS:
        if name not in tokens:
            continue
        token = tokens[name]
        rng = random.Random(f"{a.seed}:{name}")
        state = request(a.url + "/api/state", token)
        task = state["task"]
        answered = 0
        while state["next"] is not None:
            case = request(f"{a.url}/api/cases/{state['next']}", token)
            t = truth[case["case"]]
            if name == "random":
                call, conf = rng.choice(["real", "synthetic"]), rng.randint(1, 5)
                mets, grade = rng.randint(0, 1), rng.randint(0, 3)
            elif name == "always_real":
                call, conf, mets, grade = "real", 3, 0, 0
            elif name == "perfect":
                call, conf, mets, grade = t["origin"], 5, int(t["metastasis"] or 0), int(t["grade"] or 0)
            else:
                call = "synthetic" if t["counts"] > threshold else "real"
                conf, mets, grade = 3, 0, 0
            body = {}
            if task in ("realness", "both"):
                body.update(call=call, confidence=conf)
            if task in ("diagnosis", "both"):
                body.update(metastasis=mets, grade=grade)
            state = request(f"{a.url}/api/answers/{case['case']}", token, "PUT", body)
            answered += 1
        print(f"{name}: answered {answered} cases" +
              (f" (total-count threshold {threshold:.0f})" if name == "counts" else ""))


if __name__ == "__main__":
    main()
