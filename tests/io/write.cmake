# Tests of DICOM and PNG writing (src/io/dicom_write.cc, src/io/png.cc).
scintigen_test(png_test unit SOURCES png_test.cc LIBS scintigen_io PNG::PNG)
scintigen_test(dicom_write_test unit SOURCES dicom_write_test.cc LIBS scintigen_io DCMTK::dcmdata)
scintigen_test(dicom_write_ref_test reference SOURCES dicom_write_ref_test.cc LIBS scintigen_io)
