// Helpers of the DICOM reader tests (dicom_read_test, dicom_robust_test).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "io/dicom_read.h"

namespace scintigen::testing {

// The reason of the InputError thrown reading the file at `path`, or "no error"; the error
// must name the file.
inline std::string reason_of(const std::string& path, const ReadOptions& opt = {}) {
  try {
    read_wholebody_dicom(path, opt);
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), path);
    return e.reason();
  }
  return "no error";
}

}  // namespace scintigen::testing
