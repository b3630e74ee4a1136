#!/usr/bin/env python3
"""usage: export_pixels_match.py EXPORTED.dcm SOURCE.dcm
Reads both with pydicom (rescale applied) and exits 0 when the exported object's anterior
frame equals the source's single (anterior) frame exactly; prints what differs otherwise."""
import sys

import numpy as np
import pydicom


def counts(ds):
    a = ds.pixel_array.astype(np.float64)
    slope = float(getattr(ds, "RescaleSlope", 1) or 1)
    icpt = float(getattr(ds, "RescaleIntercept", 0) or 0)
    return a * slope + icpt


def anterior_frame(ds):
    a = counts(ds)
    if int(getattr(ds, "NumberOfFrames", 1) or 1) == 1:
        return a if a.ndim == 2 else a[0]
    det = list(ds.DetectorVector)
    for f, d in enumerate(det):
        item = ds.DetectorInformationSequence[int(d) - 1]
        meaning = item.ViewCodeSequence[0].CodeMeaning.lower()
        if "anterior" in meaning and "posterior" not in meaning.split("anterior")[0]:
            return a[f]
    sys.exit("no anterior frame found by View Code Sequence")


exp = pydicom.dcmread(sys.argv[1])
src = pydicom.dcmread(sys.argv[2])
e, s = anterior_frame(exp), counts(src)
if e.shape != s.shape:
    sys.exit(f"shape {e.shape} != {s.shape}")
if not np.array_equal(e, s):
    sys.exit(f"pixels differ: max abs diff {np.abs(e - s).max()}")
print("identical", e.shape, int(s.sum()))
