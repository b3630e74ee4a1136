// One table of names per enum, so that to_string and from_string cannot drift apart:
//
//   constexpr NamedValue<ViewSet> kViewSetNames[] = {{ViewSet::kBoth, "both"}, ...};
//   to_string(v)        -> name_of(kViewSetNames, v)
//   from_string(s, w)   -> value_named<InputError>(kViewSetNames, s, w, "view set")
//
// A value may appear again under an alias after its canonical name: name_of returns the first,
// value_named accepts both, and the hint lists canonical names only.
#pragma once

#include <cstddef>
#include <string>

namespace scintigen {

template <typename E>
struct NamedValue {
  E value;
  const char* name;
};

template <typename E, size_t N>
const char* name_of(const NamedValue<E> (&table)[N], E value) {
  for (const auto& t : table)
    if (t.value == value) return t.name;
  return "?";
}

// The value named `text`; otherwise throws Error class `Err` at `where`:
// "unknown <what> '<text>' (hint: allowed: a, b, c)".
template <typename Err, typename E, size_t N>
E value_named(const NamedValue<E> (&table)[N], const std::string& text, const std::string& where, const char* what) {
  for (const auto& t : table)
    if (text == t.name) return t.value;
  std::string allowed;
  for (size_t i = 0; i < N; ++i) {
    bool alias = false;
    for (size_t j = 0; j < i; ++j) alias = alias || table[j].value == table[i].value;
    if (!alias) allowed += (allowed.empty() ? "" : ", ") + std::string(table[i].name);
  }
  throw Err(where, "unknown " + std::string(what) + " '" + text + "'", "allowed: " + allowed);
}

}  // namespace scintigen
