#include "study/subgroup.h"

#include <fmt/format.h>

#include <cstdlib>

#include "core/error.h"

namespace scintigen::study {

namespace {

bool parse_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace

Subgroup parse_subgroup(const std::string& name, const std::string& text, const std::string& where) {
  Subgroup g;
  g.name = name;
  // The operator: the first of these found, two-character ones first.
  size_t pos = std::string::npos;
  for (const char* op : {"<=", ">=", "!=", "<", ">", "="}) {
    pos = text.find(op);
    if (pos != std::string::npos) {
      g.op = op;
      break;
    }
  }
  if (pos == std::string::npos)
    throw ConfigError(where, fmt::format("subgroup '{}': '{}' has no operator", name, text),
                      "write field, operator (= != < <= > >=) and value, e.g. sex=F or age<50");
  g.field = text.substr(0, pos);
  g.value = text.substr(pos + g.op.size());
  if (!is_label_field(g.field))
    throw ConfigError(where, fmt::format("subgroup '{}': '{}' is not a label field", name, g.field),
                      "use a field of docs/DATASET.md's label table, e.g. sex, age, tracer, cardiac_grade");
  if (g.value.empty()) throw ConfigError(where, fmt::format("subgroup '{}': '{}' has no value", name, text));
  const bool ordered = g.op != "=" && g.op != "!=";
  std::string type;
  for (const auto& f : label_fields())
    if (g.field == f.name) type = f.type;
  if (ordered && type != "int" && type != "float")
    throw ConfigError(where, fmt::format("subgroup '{}': '{}' orders {}, which is not a number", name, text, g.field),
                      "use = or != for sex, tracer, site and other codes");
  if (ordered && !parse_number(g.value, g.number))
    throw ConfigError(
        where, fmt::format("subgroup '{}': '{}' compares with {} but '{}' is not a number", name, text, g.op, g.value));
  if (!ordered) {
    Labels probe;  // the value must be one the field can hold
    set_label(probe, g.field, g.value, fmt::format("{}: subgroup '{}'", where, name));
    g.value = label_value(probe, g.field);
  }
  return g;
}

bool Subgroup::contains(const Labels& labels) const {
  const std::string v = label_value(labels, field);
  if (v.empty()) return false;
  if (op == "=") return v == value;
  if (op == "!=") return v != value;
  double x = 0;
  if (!parse_number(v, x)) return false;
  if (op == "<") return x < number;
  if (op == "<=") return x <= number;
  if (op == ">") return x > number;
  return x >= number;
}

}  // namespace scintigen::study
