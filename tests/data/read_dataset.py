#!/usr/bin/env python3
"""Independent reader of a scintigen dataset (docs/DATASET.md): the manifest with Python's
sqlite3, the pixels with numpy.memmap at the recorded offsets. Re-computes every
pixel_sha256 and prints one line per scan: id dtype sum-of-counts.

usage: read_dataset.py DATASET_DIR
"""
import hashlib
import json
import os
import sqlite3
import sys

import numpy as np


def main(d):
    info = json.load(open(os.path.join(d, "dataset.json")))
    assert info["format"] == "scintigen-dataset" and info["schema_version"] == 1, info
    db = sqlite3.connect("file:" + os.path.join(d, "manifest.db") + "?mode=ro", uri=True)
    rows = db.execute(
        "SELECT id, height, width, views, dtype, offset, nbytes, pixel_sha256 FROM scans ORDER BY rowid").fetchall()
    store = os.path.join(d, "images.bin")
    for sid, h, w, views, dtype, offset, nbytes, sha in rows:
        assert offset % 64 == 0, (sid, offset)
        dt = {"u16": "<u2", "f32": "<f4"}[dtype]
        a = np.memmap(store, dtype=dt, mode="r", offset=offset, shape=(2, h, w))
        assert a.nbytes == nbytes, (sid, a.nbytes, nbytes)
        counts = np.asarray(a, dtype="<f4")  # (2, H, W) float32, exactly as load() returns
        present = {"both": [0, 1], "anterior": [0], "posterior": [1]}[views]
        digest = hashlib.sha256(b"".join(counts[v].tobytes() for v in present)).hexdigest()
        if digest != sha:
            print(f"{sid}: sha256 {digest} != manifest {sha}")
            return 1
        print(sid, dtype, float(counts.sum(dtype=np.float64)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
