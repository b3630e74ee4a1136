#include "core/labels.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace scintigen {
namespace {

TEST(Labels, ParsesEveryFieldInRange) {
  Labels l;
  set_label(l, "metastasis", "1", "t");
  set_label(l, "lesion_count", " 12 ", "t");
  set_label(l, "cardiac_grade", "3", "t");
  set_label(l, "tracer", "dpd", "t");
  set_label(l, "sex", "f", "t");
  set_label(l, "age", "71.5", "t");
  set_label(l, "site", "ext-A_1", "t");
  set_label(l, "outcome_time", "365", "t");
  set_label(l, "outcome_event", "0", "t");
  EXPECT_EQ(*l.metastasis, 1);
  EXPECT_EQ(*l.lesion_count, 12);
  EXPECT_EQ(*l.cardiac_grade, 3);
  EXPECT_EQ(l.tracer, "DPD");
  EXPECT_EQ(l.sex, "F");
  EXPECT_DOUBLE_EQ(*l.age, 71.5);
  EXPECT_EQ(label_value(l, "outcome_time"), "365");
}

TEST(Labels, RejectsOutOfRangeWithFieldAndAllowedValues) {
  Labels l;
  try {
    set_label(l, "cardiac_grade", "5", "labels.csv:3");
    FAIL() << "no throw";
  } catch (const InputError& e) {
    EXPECT_EQ(e.describe(),
              "labels.csv:3: label 'cardiac_grade' has invalid value '5' (hint: allowed: Perugini grade 0, 1, 2 or 3)");
    EXPECT_EQ(e.exit_code(), 2);
  }
  EXPECT_THROW(set_label(l, "metastasis", "yes", "t"), InputError);
  EXPECT_THROW(set_label(l, "age", "nan", "t"), InputError);
  EXPECT_THROW(set_label(l, "age", "-1", "t"), InputError);
  EXPECT_THROW(set_label(l, "tracer", "FDG", "t"), InputError);
  EXPECT_THROW(set_label(l, "site", "a b", "t"), InputError);
  EXPECT_THROW(set_label(l, "lesion_count", "1.5", "t"), InputError);
}

TEST(Labels, UnknownFieldNamesTheKnownOnes) {
  Labels l;
  try {
    set_label(l, "grade", "1", "x.csv");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.describe(),
              "x.csv: unknown label 'grade' (hint: known labels: metastasis, lesion_count, cardiac_grade, tracer, sex, "
              "age, height, weight, site, outcome_time, outcome_event)");
  }
}

TEST(Labels, JsonRoundTripKeepsUnsetFieldsUnset) {
  Labels l;
  set_label(l, "metastasis", "0", "t");
  set_label(l, "weight", "80.5", "t");
  nlohmann::json j = labels_to_json(l);
  EXPECT_EQ(j.size(), 2u);
  Labels back = labels_from_json(j, "t");
  EXPECT_EQ(*back.metastasis, 0);
  EXPECT_DOUBLE_EQ(*back.weight, 80.5);
  EXPECT_FALSE(back.cardiac_grade.has_value());
  EXPECT_THROW(labels_from_json(nlohmann::json{{"cardiac_grade", 4}}, "t"), InputError);
}

TEST(Labels, CanonicalTracerNames) {
  EXPECT_EQ(canonical_tracer("Tc99m MDP"), "MDP");
  EXPECT_EQ(canonical_tracer("Tc-99m HMDP"), "HDP");
  EXPECT_EQ(canonical_tracer("oxidronate"), "HDP");
  EXPECT_EQ(canonical_tracer("DPD (Teceos)"), "DPD");
  EXPECT_EQ(canonical_tracer("Technetium Tc99m medronate"), "MDP");
  EXPECT_EQ(canonical_tracer("Tc99m"), "");
}

}  // namespace
}  // namespace scintigen
