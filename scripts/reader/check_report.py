#!/usr/bin/env python3
"""Checks a reader study's report against independent computations (docs/READER.md "A worked
study"): the answers and the truth are read straight from STUDY/study.db (SQLite), handed to the
reference scripts of the test suite (tests/ref/reader_reference.py: statsmodels, scikit-learn,
SciPy; tests/ref/reader_reference.R: pROC), and each headline number of REPORT/report.json is
compared with its reference. Prints a Markdown table (number, scintigen, reference, |difference|)
and exits 1 when a closed-form number differs by more than 1e-9.

    check_report.py STUDY REPORT
"""
import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOL = 1e-9


def main():
    study, report_dir = sys.argv[1], sys.argv[2]
    report = json.load(open(os.path.join(report_dir, "report.json")))
    db = sqlite3.connect(os.path.join(study, "study.db"))
    meta = json.loads(db.execute("SELECT value FROM meta WHERE key = 'study'").fetchone()[0])
    readers = [r for (r,) in db.execute("SELECT name FROM readers WHERE role = 'reader' ORDER BY created")]
    cases = {cid: (origin, json.loads(labels)) for cid, origin, labels in
             db.execute("SELECT case_id, origin, labels_json FROM cases ORDER BY idx")}

    def opt(v):
        return "" if v is None else str(v)

    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "answers_long.csv"), "w") as f:
            f.write("reader,case,origin,call,confidence,metastasis,grade,label_metastasis,label_grade\n")
            for reader, cid, call, conf, mets, grade in db.execute(
                    "SELECT reader, case_id, call, confidence, metastasis, grade FROM answers"):
                if reader not in readers:
                    continue
                origin, labels = cases[cid]
                f.write(f"{reader},{cid},{origin},{call},{conf},{opt(mets)},{opt(grade)},"
                        f"{opt(labels.get('metastasis'))},{opt(labels.get('cardiac_grade'))}\n")
        json.dump({"readers": readers, "cases": list(cases), "margin": meta["config"]["margin"],
                   "conf_level": report["config"]["conf_level"]}, open(os.path.join(tmp, "study.json"), "w"))
        json.dump(report, open(os.path.join(tmp, "report.json"), "w"))
        subprocess.run([sys.executable, os.path.join(ROOT, "tests/ref/reader_reference.py"), tmp], check=True)
        subprocess.run(["Rscript", os.path.join(ROOT, "tests/ref/reader_reference.R"), tmp], check=True)
        ref = {}
        for name in ("expected_python.tsv", "expected_r.tsv"):
            for line in open(os.path.join(tmp, name)):
                k, v = line.rstrip("\n").split("\t")
                ref[k] = float("nan") if v == "NA" else float(v)

    rows, worst = [], 0.0

    def check(label, ours, key):
        nonlocal worst
        if key not in ref or ours is None:
            return
        theirs = ref[key]
        ours = float(ours)
        if math.isnan(theirs) and math.isnan(ours):
            d = 0.0
        else:
            d = abs(ours - theirs)
            worst = max(worst, d)
        rows.append((label, ours, theirs, d))

    for r in report["realness"]["readers"]:
        n, k = r["reader"], f"reader.{r['reader']}"
        check(f"{n}: accuracy", r["accuracy"]["estimate"], f"{k}.accuracy.est")
        check(f"{n}: accuracy CI lower (Wilson)", r["accuracy"]["ci"]["lower"], f"{k}.accuracy.lo")
        check(f"{n}: accuracy CI upper (Wilson)", r["accuracy"]["ci"]["upper"], f"{k}.accuracy.hi")
        check(f"{n}: sensitivity", r["sensitivity"]["estimate"], f"{k}.sensitivity.est")
        check(f"{n}: specificity", r["specificity"]["estimate"], f"{k}.specificity.est")
        if "error" not in r["auc"]:
            check(f"{n}: AUC (pROC)", r["auc"]["estimate"], f"{k}.auc")
            if r["auc"].get("ci"):
                check(f"{n}: AUC CI lower (DeLong, pROC)", r["auc"]["ci"]["lower"], f"{k}.auc.lo")
                check(f"{n}: AUC CI upper (DeLong, pROC)", r["auc"]["ci"]["upper"], f"{k}.auc.hi")
        check(f"{n}: TOST p (exact binomial)", r["equivalence"]["p_value"], f"{k}.tost.p")
    agreement = report["realness"]["agreement"]
    if "estimate" in agreement["fleiss"]:
        check("Fleiss' kappa (statsmodels)", agreement["fleiss"]["estimate"], "agreement.fleiss")
    for c in agreement["cohen"]:
        if "estimate" in c:
            check(f"Cohen's kappa {c['reader1']}-{c['reader2']} (scikit-learn)", c["estimate"],
                  f"agreement.cohen.{c['reader1']}.{c['reader2']}")
    for r in (report.get("diagnosis") or {}).get("readers", []):
        for org in ("real", "synthetic"):
            m = r[org]["metastasis"]
            if isinstance(m.get("accuracy"), dict) and "estimate" in m["accuracy"]:
                check(f"{r['reader']}: metastasis accuracy on {org}", m["accuracy"]["estimate"],
                      f"diagnosis.{r['reader']}.{org}.mets.accuracy.est")

    print("| number | scintigen | reference | difference |")
    print("|---|---|---|---|")
    for label, ours, theirs, d in rows:
        print(f"| {label} | {ours:.6f} | {theirs:.6f} | {d:.1e} |")
    print(f"\n{len(rows)} numbers checked; largest difference {worst:.1e} (tolerance {TOL:g})")
    return 0 if worst <= TOL else 1


if __name__ == "__main__":
    sys.exit(main())
