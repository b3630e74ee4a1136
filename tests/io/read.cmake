# Tests of DICOM reading (src/io/dicom_read.cc). dicom_fixtures (tests/io/dicom_fixtures.h,
# defined in the top-level CMakeLists) builds NM objects in memory in every transfer syntax.
scintigen_test(dicom_read_test unit SOURCES dicom_read_test.cc LIBS scintigen_io scintigen_dicom_fixtures)
scintigen_test(dicom_read_ref_test reference SOURCES dicom_read_ref_test.cc LIBS scintigen_io scintigen_dicom_fixtures)
# Crash classes, memory reads, lenient view codes and the fuzzer's regression files.
scintigen_test(dicom_robust_test unit SOURCES dicom_robust_test.cc LIBS scintigen_io scintigen_dicom_fixtures)
# The reader's parts (dicom_attributes, dicom_views, dicom_codecs, dicom_mark): pure helpers
# and header readers on data sets built in memory.
scintigen_test(dicom_parts_test unit SOURCES dicom_parts_test.cc LIBS scintigen_io DCMTK::dcmdata)
