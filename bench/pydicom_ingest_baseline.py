#!/usr/bin/env python3
"""Baseline for the ingest benchmark: pydicom decodes every file in a folder the way
`scintigen ingest` does (all frames, rescale slope/intercept, float32) and hashes the pixels.
usage: pydicom_ingest_baseline.py FOLDER [--procs N]  -> prints "files seconds files_per_s"."""
import argparse
import hashlib
import os
import sys
import time
from multiprocessing import Pool

import numpy as np
import pydicom


def decode(path):
    ds = pydicom.dcmread(path)
    a = ds.pixel_array.astype(np.float32)
    slope = float(getattr(ds, "RescaleSlope", 1) or 1)
    icpt = float(getattr(ds, "RescaleIntercept", 0) or 0)
    if slope != 1 or icpt != 0:
        a = a * np.float32(slope) + np.float32(icpt)
    return hashlib.sha256(a.astype("<f4").tobytes()).hexdigest()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("folder")
    p.add_argument("--procs", type=int, default=1)
    a = p.parse_args()
    files = sorted(os.path.join(a.folder, f) for f in os.listdir(a.folder) if f.endswith(".dcm"))
    t0 = time.perf_counter()
    if a.procs > 1:
        with Pool(a.procs) as pool:
            hashes = pool.map(decode, files, chunksize=16)
    else:
        hashes = [decode(f) for f in files]
    dt = time.perf_counter() - t0
    assert len(hashes) == len(files)
    print(f"{len(files)} {dt:.3f} {len(files) / dt:.1f}")


if __name__ == "__main__":
    sys.exit(main())
