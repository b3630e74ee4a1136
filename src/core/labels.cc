#include "core/labels.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "core/error.h"
#include "core/text.h"

namespace scintigen {

const std::vector<LabelField>& label_fields() {
  static const std::vector<LabelField> kFields = {
      {"metastasis", "int", "0 or 1", "bone metastases present"},
      {"lesion_count", "int", "integer 0..1000", "number of metastatic lesions"},
      {"cardiac_grade", "int", "Perugini grade 0, 1, 2 or 3", "cardiac uptake grade"},
      {"tracer", "enum", "MDP, HDP, DPD or PYP", "99mTc radiopharmaceutical"},
      {"sex", "enum", "M, F or O", "patient sex"},
      {"age", "float", "years 0..120", "age at scan"},
      {"height", "float", "cm 30..250", "patient height"},
      {"weight", "float", "kg 1..400", "patient weight"},
      {"site", "code", "1-64 characters of A-Z a-z 0-9 _ . -", "acquiring site"},
      {"outcome_time", "float", "days >= 0", "time from scan to event or censoring"},
      {"outcome_event", "int", "1 (event) or 0 (censored)", "event indicator"},
  };
  return kFields;
}

bool is_label_field(const std::string& name) {
  for (const auto& f : label_fields())
    if (name == f.name) return true;
  return false;
}

namespace {

const LabelField& field_of(const std::string& name, const std::string& where) {
  for (const auto& f : label_fields())
    if (name == f.name) return f;
  std::string names;
  for (const auto& f : label_fields()) names += (names.empty() ? "" : ", ") + std::string(f.name);
  throw InputError(where, fmt::format("unknown label '{}'", name), "known labels: " + names);
}

[[noreturn]] void bad_value(const LabelField& f, const std::string& v, const std::string& where) {
  throw InputError(where, fmt::format("label '{}' has invalid value '{}'", f.name, v),
                   fmt::format("allowed: {}", f.allowed));
}

int parse_int(const LabelField& f, const std::string& v, int lo, int hi, const std::string& where) {
  char* end = nullptr;
  errno = 0;
  long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || x < lo || x > hi) bad_value(f, v, where);
  return static_cast<int>(x);
}

double parse_float(const LabelField& f, const std::string& v, double lo, double hi, const std::string& where) {
  char* end = nullptr;
  errno = 0;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno != 0 || !std::isfinite(x) || x < lo || x > hi) bad_value(f, v, where);
  return x;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string canonical_tracer(const std::string& text) {
  std::string t = upper(text);
  // Order matters: "HMDP" contains "MDP".
  if (t.find("HMDP") != std::string::npos || t.find("HDP") != std::string::npos ||
      t.find("OXIDRONATE") != std::string::npos)
    return "HDP";
  if (t.find("DPD") != std::string::npos || t.find("OXABIFORE") != std::string::npos) return "DPD";
  if (t.find("PYP") != std::string::npos || t.find("PYROPHOSPHATE") != std::string::npos) return "PYP";
  if (t.find("MDP") != std::string::npos || t.find("MEDRONATE") != std::string::npos) return "MDP";
  return "";
}

void set_label(Labels& l, const std::string& name, const std::string& raw, const std::string& where) {
  const LabelField& f = field_of(name, where);
  const std::string v = trim(raw);
  const bool clear = v.empty();
  if (name == "metastasis")
    l.metastasis = clear ? std::nullopt : std::optional<int>(parse_int(f, v, 0, 1, where));
  else if (name == "lesion_count")
    l.lesion_count = clear ? std::nullopt : std::optional<int>(parse_int(f, v, 0, 1000, where));
  else if (name == "cardiac_grade")
    l.cardiac_grade = clear ? std::nullopt : std::optional<int>(parse_int(f, v, 0, 3, where));
  else if (name == "outcome_event")
    l.outcome_event = clear ? std::nullopt : std::optional<int>(parse_int(f, v, 0, 1, where));
  else if (name == "age")
    l.age = clear ? std::nullopt : std::optional<double>(parse_float(f, v, 0, 120, where));
  else if (name == "height")
    l.height = clear ? std::nullopt : std::optional<double>(parse_float(f, v, 30, 250, where));
  else if (name == "weight")
    l.weight = clear ? std::nullopt : std::optional<double>(parse_float(f, v, 1, 400, where));
  else if (name == "outcome_time")
    l.outcome_time = clear ? std::nullopt : std::optional<double>(parse_float(f, v, 0, 1e6, where));
  else if (name == "tracer") {
    if (clear) {
      l.tracer.clear();
      return;
    }
    const std::string u = upper(v);
    if (u != "MDP" && u != "HDP" && u != "DPD" && u != "PYP") bad_value(f, v, where);
    l.tracer = u;
  } else if (name == "sex") {
    if (clear) {
      l.sex.clear();
      return;
    }
    const std::string u = upper(v);
    if (u != "M" && u != "F" && u != "O") bad_value(f, v, where);
    l.sex = u;
  } else if (name == "site") {
    if (v.size() > 64) bad_value(f, v, where);
    for (char c : v)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) bad_value(f, v, where);
    l.site = v;
  }
}

std::string label_value(const Labels& l, const std::string& name) {
  auto i = [](const std::optional<int>& x) { return x ? std::to_string(*x) : std::string(); };
  auto d = [](const std::optional<double>& x) { return x ? fmt::format("{}", *x) : std::string(); };
  if (name == "metastasis") return i(l.metastasis);
  if (name == "lesion_count") return i(l.lesion_count);
  if (name == "cardiac_grade") return i(l.cardiac_grade);
  if (name == "outcome_event") return i(l.outcome_event);
  if (name == "age") return d(l.age);
  if (name == "height") return d(l.height);
  if (name == "weight") return d(l.weight);
  if (name == "outcome_time") return d(l.outcome_time);
  if (name == "tracer") return l.tracer;
  if (name == "sex") return l.sex;
  if (name == "site") return l.site;
  field_of(name, "labels");
  return "";
}

nlohmann::json labels_to_json(const Labels& l) {
  nlohmann::json j = nlohmann::json::object();
  auto put_i = [&](const char* k, const std::optional<int>& x) {
    if (x) j[k] = *x;
  };
  auto put_d = [&](const char* k, const std::optional<double>& x) {
    if (x) j[k] = *x;
  };
  auto put_s = [&](const char* k, const std::string& x) {
    if (!x.empty()) j[k] = x;
  };
  put_i("metastasis", l.metastasis);
  put_i("lesion_count", l.lesion_count);
  put_i("cardiac_grade", l.cardiac_grade);
  put_s("tracer", l.tracer);
  put_s("sex", l.sex);
  put_d("age", l.age);
  put_d("height", l.height);
  put_d("weight", l.weight);
  put_s("site", l.site);
  put_d("outcome_time", l.outcome_time);
  put_i("outcome_event", l.outcome_event);
  return j;
}

Labels labels_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw InputError(where, "labels must be a JSON object");
  Labels l;
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string text;
    if (it.value().is_string())
      text = it.value().get<std::string>();
    else if (it.value().is_number_integer())
      text = std::to_string(it.value().get<long long>());
    else if (it.value().is_number())
      text = fmt::format("{}", it.value().get<double>());
    else if (!it.value().is_null())
      throw InputError(where, fmt::format("label '{}' must be a number or string", it.key()));
    set_label(l, it.key(), text, where);
  }
  return l;
}

}  // namespace scintigen
