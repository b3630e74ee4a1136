# The crash-file generator (tests of other layers write the files with it) and the 60-second
# fuzz smoke run (label fuzz, docs/FUZZING.md): scripts/fuzz.sh builds fuzz/ with clang into
# <build>/fuzz, apart from build-fuzz/ where long runs live.
add_executable(make_crash_files make_crash_files.cc)
target_link_libraries(make_crash_files PRIVATE scintigen_dicom_fixtures)

find_program(SCINTIGEN_CLANGXX clang++)
if(SCINTIGEN_CLANGXX)
  add_test(NAME dicom_read_fuzz_smoke COMMAND ${CMAKE_SOURCE_DIR}/scripts/fuzz.sh 60)
  set_tests_properties(dicom_read_fuzz_smoke PROPERTIES
    LABELS fuzz
    TIMEOUT 1200
    ENVIRONMENT "FUZZ_BUILD=${CMAKE_BINARY_DIR}/fuzz;FUZZ_JOBS=2")
else()
  message(STATUS "clang++ not found: the fuzz smoke test is not registered (scripts/install-deps.sh installs clang)")
endif()
