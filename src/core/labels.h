// The label schema: every label a scan may carry, with its type and allowed range.
//
//   Labels l;
//   set_label(l, "cardiac_grade", "2", "labels.csv:14");   // validates, throws InputError
//   nlohmann::json j = labels_to_json(l);
//
// Missing labels stay unset (std::optional / empty string); they are never invented.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace scintigen {

struct Labels {
  std::optional<int> metastasis;       // 0 or 1
  std::optional<int> lesion_count;     // 0..1000
  std::optional<int> cardiac_grade;    // Perugini 0..3
  std::string tracer;                  // MDP | HDP | DPD | PYP | "" (unknown)
  std::string sex;                     // M | F | O | "" (unknown)
  std::optional<double> age;           // years, 0..120
  std::optional<double> height;        // cm, 30..250
  std::optional<double> weight;        // kg, 1..400
  std::string site;                    // free short code, [A-Za-z0-9_.-]{1,64}
  std::optional<double> outcome_time;  // days from scan to event or censoring, >= 0
  std::optional<int> outcome_event;    // 1 event, 0 censored
};

struct LabelField {
  const char* name;
  const char* type;     // "int", "float", "enum", "code"
  const char* allowed;  // human-readable allowed values, used in error messages
  const char* meaning;
};

// Every label field, in the canonical column order.
const std::vector<LabelField>& label_fields();
bool is_label_field(const std::string& name);

// Parses `value` into field `name` of `labels`. An empty value clears the field.
// Throws InputError naming `where`, the field, the value and the allowed values.
void set_label(Labels& labels, const std::string& name, const std::string& value, const std::string& where);

// Canonical text of one field ("" when unset).
std::string label_value(const Labels& labels, const std::string& name);

nlohmann::json labels_to_json(const Labels& labels);
// Throws InputError (naming `where`) for unknown keys or out-of-range values.
Labels labels_from_json(const nlohmann::json& j, const std::string& where);

// Canonical tracer name for common spellings ("Tc99m-MDP", "medronate", "HMDP"...); "" if unknown.
std::string canonical_tracer(const std::string& text);

}  // namespace scintigen
