#!/usr/bin/env python3
"""Prints, one per line, every identifying value of the given DICOM files (pydicom):
patient-module attributes, UIDs, institution/physician/operator/station names, device serial
numbers, dates and times, free-text descriptions, and every private tag's text value.
Values shorter than 4 characters and pure numbers are skipped: they cannot be grepped for
meaningfully (and sex/size are kept on purpose by the Retain Patient Characteristics option).
"""
import sys

import pydicom

IDENTIFYING_KEYWORDS = {
    "PatientName", "PatientID", "PatientBirthDate", "OtherPatientIDs", "OtherPatientNames",
    "PatientAddress", "PatientTelephoneNumbers", "EthnicGroup", "AdditionalPatientHistory",
    "PatientComments", "InstitutionName", "InstitutionAddress", "ReferringPhysicianName",
    "NameOfPhysiciansReadingStudy", "OperatorsName", "PerformingPhysicianName", "StationName",
    "DeviceSerialNumber", "AccessionNumber", "StudyID", "StudyDescription", "SeriesDescription",
    "ImageComments", "ProtocolName", "InstanceCreatorUID", "StudyInstanceUID",
    "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID", "MediaStorageSOPInstanceUID",
    "StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate", "InstanceCreationDate",
    "StudyTime", "SeriesTime", "AcquisitionTime", "ContentTime", "InstanceCreationTime",
    "SourceApplicationEntityTitle", "RequestingPhysician", "RequestedProcedureDescription",
}

# Defined terms that every whole-body export must carry (ImageType, BodyPartExamined); a
# private tag of the sample happens to hold one of them as its value.
GENERIC_VOCABULARY = {"WHOLE BODY"}


def texts(value):
    if isinstance(value, (list, pydicom.multival.MultiValue)):
        for v in value:
            yield from texts(v)
    elif isinstance(value, bytes):
        return
    elif value is not None:
        yield str(value)


def walk(ds, out):
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value:
                walk(item, out)
            continue
        if elem.tag == (0x7FE0, 0x0010):
            continue
        if elem.keyword in IDENTIFYING_KEYWORDS or elem.tag.is_private:
            if elem.tag.is_private and elem.VR not in ("LO", "SH", "PN", "LT", "ST", "UT", "UI", "DA", "TM", "DT", "AE", "CS"):
                continue
            for t in texts(elem.value):
                t = t.strip()
                if t in GENERIC_VOCABULARY:
                    continue
                if len(t) >= 4 and not t.replace(".", "").replace("-", "").isdigit():
                    out.add(t)
                elif elem.VR in ("UI", "DA", "TM", "DT") and len(t) >= 6:
                    out.add(t)  # UIDs and dates are identifying even though numeric


def main():
    out = set()
    for path in sys.argv[1:]:
        ds = pydicom.dcmread(path, force=True)
        walk(ds.file_meta, out) if hasattr(ds, "file_meta") else None
        walk(ds, out)
    for t in sorted(out):
        print(t)


if __name__ == "__main__":
    main()
