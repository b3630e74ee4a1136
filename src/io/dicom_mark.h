// Recognising the objects scintigen exported itself (internal to src/io; see ScintigenMark in
// dicom_read.h for where the marks are, dicom_write.cc for how they are written).
//
//   std::optional<ScintigenMark> mark = read_scintigen_mark(ds);  // nullopt: not scintigen's
#pragma once

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcitem.h>

#include <optional>
#include <string>

#include "io/dicom_read.h"

namespace scintigen::detail {

// kSimulated / kSynthetic from a model name or description (the first of SIMULATED, PHANTOM,
// SYNTHETIC, GENERATIVE among its words); nullopt when it says neither.
std::optional<Origin> origin_from_text(const std::string& text);
// True for the equipment scintigen writes: Manufacturer "scintigen" and a model name whose
// first word is SCINTIGEN and that names an origin ("scintigen phantom", "scintigen generative
// model").
bool scintigen_equipment(const std::string& manufacturer, const std::string& model);
// Every mark found, and the origin, source, provenance and version they carry.
std::optional<ScintigenMark> read_scintigen_mark(DcmItem* ds);

}  // namespace scintigen::detail
