// Checks JSON against tests/stats/stats_schema.json, the description of every statistics JSON
// form (src/stats/json.h), and against the naming scheme itself: confidence limits appear only
// as "lower" / "upper" / "level" inside a "ci" object.
//
//   EXPECT_EQ(schema_errors(stats::to_json(auc), "auc"), "");
//   EXPECT_EQ(scheme_errors(report_json), "");
//
// The schema language is a JSON Schema subset: type, properties, required,
// additionalProperties: false, items, anyOf and $ref into $defs, where a $ref beside
// properties extends the referenced object (adds fields) instead of intersecting with it.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace scintigen::testing {

inline const nlohmann::json& stats_schema() {
  static const nlohmann::json schema =
      nlohmann::json::parse(std::ifstream(std::string(SCINTIGEN_SOURCE_DIR) + "/tests/stats/stats_schema.json"));
  return schema;
}

namespace detail {

inline bool has_type(const nlohmann::json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  if (type == "integer") return v.is_number_integer();
  if (type == "number") return v.is_number();
  return false;
}

// The schema with its $ref resolved; local properties and required extend the referenced ones.
inline nlohmann::json resolve(const nlohmann::json& schema) {
  if (!schema.contains("$ref")) return schema;
  const std::string ref = schema["$ref"];
  nlohmann::json base = resolve(stats_schema()["$defs"].at(ref.substr(std::string("#/$defs/").size())));
  for (const auto& [key, value] : schema.items()) {
    if (key == "properties")
      base["properties"].update(value);
    else if (key == "required")
      for (const auto& r : value) base["required"].push_back(r);
    else if (key != "$ref")
      base[key] = value;
  }
  return base;
}

// Appends "path: problem" lines for every way `v` misses `schema`.
inline void check(const nlohmann::json& v, const nlohmann::json& schema_in, const std::string& path,
                  std::string& errors) {
  const nlohmann::json schema = resolve(schema_in);
  if (schema.contains("anyOf")) {
    for (const auto& alternative : schema["anyOf"]) {
      std::string e;
      check(v, alternative, path, e);
      if (e.empty()) return;
    }
    errors += path + ": matches none of anyOf\n";
    return;
  }
  if (schema.contains("type")) {
    const nlohmann::json types = schema["type"].is_array() ? schema["type"] : nlohmann::json::array({schema["type"]});
    bool ok = false;
    for (const auto& t : types) ok |= has_type(v, t.get<std::string>());
    if (!ok) {
      errors += path + ": " + v.type_name() + ", expected " + types.dump() + "\n";
      return;
    }
  }
  if (v.is_object()) {
    for (const auto& r : schema.value("required", nlohmann::json::array()))
      if (!v.contains(r.get<std::string>())) errors += path + ": no field '" + r.get<std::string>() + "'\n";
    const nlohmann::json properties = schema.value("properties", nlohmann::json::object());
    for (const auto& [key, value] : v.items()) {
      if (properties.contains(key))
        check(value, properties[key], path + "." + key, errors);
      else if (schema.contains("additionalProperties") && !schema["additionalProperties"].get<bool>())
        errors += path + ": field '" + key + "' is not in the schema\n";
    }
  }
  if (v.is_array() && schema.contains("items"))
    for (size_t i = 0; i < v.size(); ++i) check(v[i], schema["items"], path + "[" + std::to_string(i) + "]", errors);
}

inline bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

inline void check_scheme(const nlohmann::json& v, const std::string& parent, const std::string& path,
                         std::string& errors) {
  if (v.is_array())
    for (size_t i = 0; i < v.size(); ++i) check_scheme(v[i], parent, path + "[" + std::to_string(i) + "]", errors);
  if (!v.is_object()) return;
  for (const auto& [key, value] : v.items()) {
    const bool limit = key == "lower" || key == "upper" || key == "level";
    if ((limit && parent != "ci") || ends_with(key, "_lower") || ends_with(key, "_upper") || key.rfind("ci_", 0) == 0)
      errors += path + ": field '" + key + "' outside the naming scheme (limits belong in \"ci\")\n";
    check_scheme(value, key, path + "." + key, errors);
  }
}

}  // namespace detail

// "" when `v` matches $defs/<def> of the statistics schema, else one line per problem.
inline std::string schema_errors(const nlohmann::json& v, const std::string& def) {
  std::string errors;
  detail::check(v, nlohmann::json{{"$ref", "#/$defs/" + def}}, def, errors);
  return errors;
}

// "" when no key anywhere in `v` names a confidence limit outside a "ci" object (ci_lower,
// hr_upper, a bare "lower", ...), else one line per offending key.
inline std::string scheme_errors(const nlohmann::json& v) {
  std::string errors;
  detail::check_scheme(v, "", "$", errors);
  return errors;
}

}  // namespace scintigen::testing
