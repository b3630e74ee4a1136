// Errors keep reason and hint apart when context is added, and never repeat the place.
#include "core/error.h"

#include <gtest/gtest.h>

namespace scintigen {
namespace {

TEST(ErrorContext, PlaceIsNamedOnce) {
  EXPECT_EQ(context_place("mix.txt:2", "mix.txt:2"), "mix.txt:2");
  EXPECT_EQ(context_place("mix.txt", "mix.txt:2"), "mix.txt:2");
  EXPECT_EQ(context_place("model.json", ""), "model.json");
  EXPECT_EQ(context_place("", "--steps"), "--steps");
  EXPECT_EQ(context_place("model.json", "model_config.height"), "model.json: model_config.height");
  // A longer name that merely starts like `outer` is another place.
  EXPECT_EQ(context_place("a.csv", "a.csv.bak:3"), "a.csv: a.csv.bak:3");
}

TEST(ErrorContext, KeepsReasonAndHintApartAndTakesTheNewClass) {
  const ConfigError inner("mix.txt:2", "value '5' is not allowed for cardiac_grade",
                          "allowed values of cardiac_grade: 0, 1, 2, 3");
  const InputError outer = in_context<InputError>(inner, "mix.txt:2");
  EXPECT_EQ(outer.where(), "mix.txt:2");
  EXPECT_EQ(outer.reason(), "value '5' is not allowed for cardiac_grade");
  EXPECT_EQ(outer.hint(), "allowed values of cardiac_grade: 0, 1, 2, 3");
  EXPECT_EQ(
      outer.describe(),
      "mix.txt:2: value '5' is not allowed for cardiac_grade (hint: allowed values of cardiac_grade: 0, 1, 2, 3)");
  EXPECT_EQ(outer.exit_code(), kExitBadInput);

  const InternalError internal = in_context<InternalError>(inner, "model.json", "model_config: ", "or retrain");
  EXPECT_EQ(internal.describe(),
            "model.json: mix.txt:2: model_config: value '5' is not allowed for cardiac_grade "
            "(hint: allowed values of cardiac_grade: 0, 1, 2, 3; or retrain)");
  EXPECT_EQ(internal.exit_code(), kExitInternal);
}

TEST(ErrorContext, AHintOnOneSideOnly) {
  const InputError no_hint("f", "broken");
  EXPECT_EQ(in_context<InputError>(no_hint, "f", "", "try again").describe(), "f: broken (hint: try again)");
  EXPECT_EQ(in_context<InputError>(no_hint, "f").describe(), "f: broken");
}

}  // namespace
}  // namespace scintigen
