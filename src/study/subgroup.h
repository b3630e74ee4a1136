// A subgroup of cases by their labels, for the study's per-subgroup AUCs: "sex=F", "age<50",
// "age>=80", "tracer=DPD", "cardiac_grade=3", "tracer!=MDP". One condition: a label field
// (core/labels.h), an operator (= != < <= > >=) and a value; < <= > >= need a numeric field.
// A case whose field is unset is in no subgroup of that field.
#pragma once
#include <string>

#include "core/labels.h"

namespace scintigen::study {

struct Subgroup {
  std::string name;
  std::string field, op, value;
  double number = 0;  // value, for the numeric operators
  bool contains(const Labels& labels) const;
};

// Throws ConfigError naming `where`, the text and what is allowed.
Subgroup parse_subgroup(const std::string& name, const std::string& text, const std::string& where = "subgroups");

}  // namespace scintigen::study
