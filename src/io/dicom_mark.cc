// Recognising scintigen's own exports (see dicom_mark.h).

#include "io/dicom_mark.h"

#include <dcmtk/dcmdata/dcdeftag.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "io/dicom_attributes.h"

namespace scintigen::detail {

std::optional<Origin> origin_from_text(const std::string& text) {
  for (const std::string& w : words(text)) {
    if (w == "SIMULATED" || w == "PHANTOM") return Origin::kSimulated;
    if (w == "SYNTHETIC" || w == "GENERATIVE") return Origin::kSynthetic;
  }
  return std::nullopt;
}

bool scintigen_equipment(const std::string& manufacturer, const std::string& model) {
  const std::vector<std::string> m = words(model);
  return upper(manufacturer) == "SCINTIGEN" && m.size() >= 2 && m[0] == "SCINTIGEN" &&
         origin_from_text(model).has_value();
}

std::optional<ScintigenMark> read_scintigen_mark(DcmItem* ds) {
  ScintigenMark mark;
  std::optional<Origin> origin;
  auto found = [&](const char* where, std::optional<Origin> o) {
    mark.found_in.push_back(where);
    if (!origin && o) origin = o;
  };
  const std::string model = get_string(ds, DCM_ManufacturerModelName);
  if (scintigen_equipment(get_string(ds, DCM_Manufacturer), model)) found("Manufacturer", origin_from_text(model));
  const long n_equipment = std::min(count_items(ds, DCM_ContributingEquipmentSequence), 16L);
  for (long i = 0; i < n_equipment; ++i) {
    DcmItem* eq = get_item(ds, DCM_ContributingEquipmentSequence, i);
    const std::string eq_model = get_string(eq, DCM_ManufacturerModelName);
    if (scintigen_equipment(get_string(eq, DCM_Manufacturer), eq_model)) {
      found("ContributingEquipmentSequence", origin_from_text(eq_model));
      if (mark.scintigen_version.empty()) {
        const std::vector<std::string> sw = get_values(eq, DCM_SoftwareVersions);
        if (!sw.empty() && sw[0].rfind("scintigen ", 0) == 0) mark.scintigen_version = sw[0].substr(10);
      }
      break;
    }
  }
  for (const auto& [tag, name] : {std::pair{DCM_SeriesDescription, "SeriesDescription"},
                                  std::pair{DCM_DerivationDescription, "DerivationDescription"}}) {
    const std::vector<std::string> w = words(get_string(ds, tag));
    if (!w.empty() && (w[0] == "SIMULATED" || w[0] == "SYNTHETIC")) found(name, origin_from_text(w[0]));
  }
  // Image Comments: one line "scintigen provenance: {json}".
  const std::string comments = get_string(ds, DCM_ImageComments);
  const std::string kPrefix = "scintigen provenance: ";
  if (const size_t at = comments.find(kPrefix); at != std::string::npos) {
    std::string line = comments.substr(at + kPrefix.size());
    line = line.substr(0, line.find_first_of("\r\n"));
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    std::optional<Origin> o;
    if (j.is_object()) {
      if (auto it = j.find("origin"); it != j.end() && it->is_string()) {
        if (*it == "simulated") o = Origin::kSimulated;
        if (*it == "synthetic") o = Origin::kSynthetic;
      }
      if (auto it = j.find("source"); it != j.end() && it->is_string()) mark.source = it->get<std::string>();
      if (auto it = j.find("provenance"); it != j.end() && it->is_object()) mark.provenance = *it;
      if (auto it = j.find("scintigen_version"); it != j.end() && it->is_string())
        mark.scintigen_version = it->get<std::string>();
    }
    found("ImageComments", o);
    if (o) origin = o;  // the JSON line is the most precise mark
  }
  if (mark.found_in.empty()) return std::nullopt;
  mark.origin = origin.value_or(Origin::kSynthetic);
  if (mark.scintigen_version.empty()) {
    const std::vector<std::string> sw = get_values(ds, DCM_SoftwareVersions);
    if (!sw.empty() && sw[0].rfind("scintigen ", 0) == 0) mark.scintigen_version = sw[0].substr(10);
  }
  if (mark.source.empty()) {
    // Derivation Description "SIMULATED by scintigen <version> (<source>); not a patient".
    const std::string d = get_string(ds, DCM_DerivationDescription);
    const size_t open = d.find(" ("), close = d.rfind(')');
    if (open != std::string::npos && close != std::string::npos && close > open + 2)
      mark.source = d.substr(open + 2, close - open - 2);
  }
  return mark;
}

}  // namespace scintigen::detail
