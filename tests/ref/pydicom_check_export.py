#!/usr/bin/python3
"""Independent check of scintigen's DICOM export with pydicom (reference for dicom_write).

    pydicom_check_export.py FILE [FILE] --origin simulated --frames 2 \
        --anterior ant.npy --posterior post.npy [--atol 0]

Each FILE is read with pydicom; every frame is matched to its view through DetectorVector and
the Detector Information Sequence's View Code Sequence, its pixels are rescaled (Rescale
Slope/Intercept when present), a posterior frame is mirrored left-right into scintigen's
stored orientation, and the result is compared with the expected float32 array (.npy, H x W).
Prints one line per failed check and exits 1 when any check fails, 0 otherwise.
"""
import argparse
import sys

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut

NM_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
VIEW_CODES = {("399321004", "SCT"): "anterior", ("399001007", "SCT"): "posterior"}
ORIENTATION = {"anterior": [1, 0, 0, 0, 0, -1], "posterior": [-1, 0, 0, 0, 0, -1]}
DESCRIPTION = {"real": "DE-IDENTIFIED", "simulated": "SIMULATED", "synthetic": "SYNTHETIC"}


def check_uid(fails, name, uid):
    uid = str(uid)
    if not uid.startswith("2.25.") or len(uid) > 64:
        fails.append(f"{name} {uid!r} is not a 2.25. UID of at most 64 characters")
    for part in uid.split("."):
        if not part.isdigit() or (len(part) > 1 and part[0] == "0"):
            fails.append(f"{name} {uid!r} has an invalid component {part!r}")


def check_file(path, args, fails, seen):
    ds = pydicom.dcmread(path)
    where = path
    if ds.file_meta.TransferSyntaxUID != "1.2.840.10008.1.2.1":
        fails.append(f"{where}: transfer syntax {ds.file_meta.TransferSyntaxUID} is not Explicit VR Little Endian")
    if ds.SOPClassUID != NM_IMAGE_STORAGE or ds.Modality != "NM":
        fails.append(f"{where}: SOP class {ds.SOPClassUID} / modality {ds.Modality} is not NM Image")
    image_type = list(ds.ImageType)
    if image_type[:1] != ["DERIVED"] or "WHOLE BODY" not in image_type:
        fails.append(f"{where}: ImageType {image_type} lacks DERIVED / WHOLE BODY")
    for keyword, want in (("PatientIdentityRemoved", "YES"), ("ContentQualification", "RESEARCH"),
                          ("BurnedInAnnotation", "NO")):
        if ds.get(keyword) != want:
            fails.append(f"{where}: {keyword} is {ds.get(keyword)!r}, expected {want!r}")
    codes = [(c.CodeValue, c.CodingSchemeDesignator) for c in ds.get("DeidentificationMethodCodeSequence", [])]
    if ("113100", "DCM") not in codes:
        fails.append(f"{where}: DeidentificationMethodCodeSequence lacks DCM 113100: {codes}")
    if not str(ds.get("SeriesDescription", "")).startswith(DESCRIPTION[args.origin]):
        fails.append(f"{where}: SeriesDescription {ds.get('SeriesDescription')!r} does not say {DESCRIPTION[args.origin]}")
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        check_uid(fails, f"{where}: {keyword}", ds.get(keyword, ""))
    if ds.file_meta.MediaStorageSOPInstanceUID != ds.SOPInstanceUID:
        fails.append(f"{where}: file meta SOP Instance UID differs from the dataset's")
    seen["study"].add(ds.StudyInstanceUID)
    seen["series"].add(ds.SeriesInstanceUID)
    seen["sop"].append(ds.SOPInstanceUID)

    frames = int(ds.get("NumberOfFrames", 1))
    pixels = ds.pixel_array
    if frames == 1:
        pixels = pixels[np.newaxis]
    if pixels.shape[0] != frames:
        fails.append(f"{where}: pixel array {pixels.shape} does not hold {frames} frames")
        return
    rescaled = apply_modality_lut(pixels, ds).astype(np.float64)
    detectors = [int(d) for d in np.atleast_1d(ds.DetectorVector)]
    items = ds.DetectorInformationSequence
    if len(detectors) != frames or int(ds.NumberOfDetectors) != len(items):
        fails.append(f"{where}: DetectorVector {detectors} / NumberOfDetectors do not match {frames} frames")
        return
    for f in range(frames):
        item = items[detectors[f] - 1]
        code = item.ViewCodeSequence[0]
        view = VIEW_CODES.get((code.CodeValue, code.CodingSchemeDesignator))
        if view is None:
            fails.append(f"{where}: frame {f + 1}: unknown view code {code.CodeValue} {code.CodingSchemeDesignator}")
            continue
        seen["views"].append(view)
        iop = [float(x) for x in item.ImageOrientationPatient]
        if iop != ORIENTATION[view]:
            fails.append(f"{where}: frame {f + 1} ({view}): ImageOrientationPatient {iop}")
        got = rescaled[f][:, ::-1] if view == "posterior" else rescaled[f]
        expected_path = args.anterior if view == "anterior" else args.posterior
        if expected_path is None:
            fails.append(f"{where}: frame {f + 1} is {view}, which the scan does not hold")
            continue
        expected = np.load(expected_path).astype(np.float64)
        if expected.shape != got.shape:
            fails.append(f"{where}: {view} frame is {got.shape}, expected {expected.shape}")
            continue
        diff = float(np.max(np.abs(got - expected)))
        if diff > args.atol:
            fails.append(f"{where}: {view} pixels differ by up to {diff} (tolerance {args.atol})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--origin", choices=sorted(DESCRIPTION), required=True)
    ap.add_argument("--frames", type=int, required=True, help="frames over all files")
    ap.add_argument("--anterior", help="expected anterior counts (.npy, H x W, stored orientation)")
    ap.add_argument("--posterior", help="expected posterior counts (.npy, H x W, stored orientation, mirrored)")
    ap.add_argument("--atol", type=float, default=0.0)
    args = ap.parse_args()

    fails = []
    seen = {"study": set(), "series": set(), "sop": [], "views": []}
    for path in args.files:
        check_file(path, args, fails, seen)
    if len(seen["study"]) != 1 or len(seen["series"]) != 1:
        fails.append(f"files do not share one study and series: {seen['study']} {seen['series']}")
    if len(set(seen["sop"])) != len(seen["sop"]):
        fails.append("SOP Instance UIDs repeat")
    want_views = sorted(v for v, p in (("anterior", args.anterior), ("posterior", args.posterior)) if p)
    if sorted(seen["views"]) != want_views or len(seen["views"]) != args.frames:
        fails.append(f"views found {seen['views']}, expected {want_views} in {args.frames} frames")
    for line in fails:
        print("FAIL:", line)
    if not fails:
        print(f"OK: {len(args.files)} file(s), views {seen['views']}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
