#!/usr/bin/env python3
"""Reference pixel hashes from pydicom, for tests/io/dicom_read_ref_test.cc.

Usage: pydicom_pixels.py FILE...

Prints one JSON object per file and line:
  {"file": ..., "rows": R, "cols": C, "frames": F, "sha256": "<all frames>",
   "frame_sha256": ["<frame 0>", ...], "frame_sha256_mirrored": ["<frame 0 mirrored left-right>", ...],
   "min": ..., "max": ...}
Each hash is SHA-256 over the float32 little-endian pixels (stored value * RescaleSlope +
RescaleIntercept, computed in float64), row-major. A file pydicom cannot decode prints
{"file": ..., "error": "..."} and the script exits 1 at the end.
"""
import hashlib
import json
import sys

import numpy as np
import pydicom
from pydicom.pixel_data_handlers import gdcm_handler, numpy_handler, pillow_handler, rle_handler

# Native and RLE data through pydicom's own numpy decoders; GDCM only for what needs it
# (JPEG lossless, JPEG-LS). GDCM aborts on some valid multi-frame NM objects.
pydicom.config.pixel_data_handlers = [numpy_handler, rle_handler, pillow_handler, gdcm_handler]


def sha(a):
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f4").tobytes()).hexdigest()


def describe(path):
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if frames == 1:
        arr = arr[np.newaxis, ...]
    slope = float(getattr(ds, "RescaleSlope", 1) or 1)
    intercept = float(getattr(ds, "RescaleIntercept", 0) or 0)
    counts = (arr.astype(np.float64) * slope + intercept).astype(np.float32)
    return {
        "file": path,
        "rows": int(ds.Rows),
        "cols": int(ds.Columns),
        "frames": frames,
        "sha256": sha(counts),
        "frame_sha256": [sha(f) for f in counts],
        "frame_sha256_mirrored": [sha(f[:, ::-1]) for f in counts],
        "min": float(counts.min()),
        "max": float(counts.max()),
    }


def main():
    failed = False
    for path in sys.argv[1:]:
        try:
            out = describe(path)
        except Exception as e:  # report and go on with the other files
            out = {"file": path, "error": f"{type(e).__name__}: {e}"}
            failed = True
        print(json.dumps(out), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
