// Enum name tables: both directions, aliases, and the exact error text.
#include "core/names.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/scan.h"

namespace scintigen {
namespace {

enum class Colour { kRed, kGreen };
constexpr NamedValue<Colour> kColours[] = {{Colour::kRed, "red"}, {Colour::kGreen, "green"}, {Colour::kGreen, "verde"}};

TEST(Names, BothDirectionsAndAliases) {
  EXPECT_STREQ(name_of(kColours, Colour::kGreen), "green");
  EXPECT_EQ(value_named<InputError>(kColours, "verde", "w", "colour"), Colour::kGreen);
  EXPECT_EQ(value_named<InputError>(kColours, "red", "w", "colour"), Colour::kRed);
  try {
    value_named<ConfigError>(kColours, "blue", "--colour", "colour");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.describe(), "--colour: unknown colour 'blue' (hint: allowed: red, green)");
  }
}

TEST(Names, ScanEnumsRoundTrip) {
  for (ViewSet v : {ViewSet::kBoth, ViewSet::kAnteriorOnly, ViewSet::kPosteriorOnly})
    EXPECT_EQ(view_set_from_string(to_string(v), "x"), v);
  for (Origin o : {Origin::kReal, Origin::kSimulated, Origin::kSynthetic})
    EXPECT_EQ(origin_from_string(to_string(o), "x"), o);
  try {
    origin_from_string("fake", "manifest.db");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.describe(), "manifest.db: unknown origin 'fake' (hint: allowed: real, simulated, synthetic)");
  }
}

}  // namespace
}  // namespace scintigen
