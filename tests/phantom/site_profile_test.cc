// Site profiles: every shipped profile loads; bad values and unknown keys give exact errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "phantom/phantom.h"

namespace scintigen::phantom {
namespace {

std::string error_of(const nlohmann::json& j) {
  try {
    site_profile_from_json(j, "bad.json");
  } catch (const ConfigError& e) {
    return e.describe();
  }
  return "(no error)";
}

nlohmann::json base() {
  return {{"name", "t"}};
}

TEST(SiteProfile, ShippedProfilesLoadAndRoundTrip) {
  const auto names = available_sites();
  for (const char* n : {"large_centre", "small_centre", "ext_a", "ext_b", "ext_c", "ext_d"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  for (const auto& n : names) {
    const SiteProfile s = load_site_profile(n);
    EXPECT_EQ(s.name, n);
    const SiteProfile r = site_profile_from_json(s.to_json(), "roundtrip");
    EXPECT_EQ(r.to_json(), s.to_json()) << n;
  }
}

TEST(SiteProfile, ExternalSitesDifferInTracerCameraAndPopulation) {
  std::set<std::string> tracers, grids;
  std::set<double> fwhm, pop;
  for (const char* n : {"ext_a", "ext_b", "ext_c", "ext_d"}) {
    const SiteProfile s = load_site_profile(n);
    tracers.insert(s.tracer_mix.begin()->first);
    grids.insert(std::to_string(s.camera.width) + "x" + std::to_string(s.camera.height) + "@" +
                 std::to_string(s.camera.pixel_mm));
    fwhm.insert(s.camera.fwhm_mm_at_100);
    pop.insert(s.population.age_mean * 1000 + s.population.bmi_mean);
  }
  EXPECT_GE(tracers.size(), 3u);
  EXPECT_GE(grids.size(), 3u);
  EXPECT_EQ(fwhm.size(), 4u);
  EXPECT_GE(pop.size(), 3u);
}

TEST(SiteProfile, UnknownKeysAreRejectedWithTheAllowedOnes) {
  nlohmann::json j = base();
  j["camera"] = {{"pixle_mm", 2.0}};
  EXPECT_EQ(error_of(j),
            "bad.json: unknown field 'camera.pixle_mm' (hint: allowed fields in camera: width, height, pixel_mm, "
            "fwhm_mm_at_0, fwhm_mm_at_100, sensitivity_cps_per_mbq, fov_axial_mm, scatter_fraction, scatter_fwhm_mm, "
            "gap_mm, mu_per_cm)");
  j = base();
  j["colour"] = 1;
  EXPECT_EQ(
      error_of(j),
      "bad.json: unknown field 'colour' (hint: allowed fields: name, description, tracer_mix, camera, acquisition, "
      "population, prevalence, difficulty, confounders, outcome)");
}

TEST(SiteProfile, OutOfRangeValuesNameTheFieldAndRange) {
  nlohmann::json j = base();
  j["camera"] = {{"pixel_mm", 0.1}};
  EXPECT_EQ(error_of(j),
            "bad.json: field 'camera.pixel_mm' is 0.1, outside the allowed range (hint: allowed: 0.5..6 mm)");
  j = base();
  j["acquisition"] = {{"activity_mbq", {100, 5000}}};
  EXPECT_EQ(
      error_of(j),
      "bad.json: field 'acquisition.activity_mbq' is [100, 5000], outside the allowed range (hint: allowed: [low, "
      "high] within 50..1500 MBq)");
  j = base();
  j["prevalence"] = {{"cardiac_grade", {0.5, 0.2, 0.2, 0.2}}};
  EXPECT_EQ(
      error_of(j),
      "bad.json: field 'prevalence.cardiac_grade' sums to 1.1, not 1 (hint: four probabilities for Perugini grades "
      "0-3 that sum to 1)");
  j = base();
  j["tracer_mix"] = {{"FDG", 1}};
  EXPECT_EQ(error_of(j),
            "bad.json: field 'tracer_mix.FDG' is not a known tracer (hint: allowed tracers: MDP, HDP, DPD, PYP)");
  j = base();
  j["camera"] = {{"fwhm_mm_at_0", 9.0}, {"fwhm_mm_at_100", 7.0}};
  EXPECT_EQ(error_of(j),
            "bad.json: field 'camera.fwhm_mm_at_100' (7) is below camera.fwhm_mm_at_0 (9) (hint: collimator blur grows "
            "with distance: give fwhm_mm_at_100 >= fwhm_mm_at_0)");
}

TEST(SiteProfile, WrongTypesAreRejected) {
  nlohmann::json j = base();
  j["camera"] = {{"width", "wide"}};
  EXPECT_EQ(
      error_of(j),
      "bad.json: field 'camera.width' must be an integer in 16..4096 pixels, got a string (hint: allowed: an integer "
      "in 16..4096 pixels)");
  j = base();
  j["population"] = {{"age", 60}};
  EXPECT_EQ(
      error_of(j),
      "bad.json: field 'population.age' must be [low, high] within 1..110 years, got a number (hint: allowed: [low, "
      "high] within 1..110 years)");
  j = base();
  j["difficulty"] = 3;
  EXPECT_EQ(
      error_of(j),
      "bad.json: field 'difficulty' must be an object, got a number (hint: allowed: an object with lesion_contrast, "
      "lesion_size_mm, lesion_count_mean, cold_fraction)");
}

TEST(SiteProfile, UnknownSiteListsTheAvailableOnes) {
  try {
    load_site_profile("nowhere");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.where(), "--site");
    EXPECT_EQ(e.reason(), "unknown site profile 'nowhere'");
    EXPECT_NE(e.hint().find("available: ext_a, ext_b, ext_c, ext_d, generator_train, large_centre, small_centre"),
              std::string::npos)
        << e.hint();
  }
}

TEST(Prevalence, ParsesAndRejects) {
  const PrevalenceOverride o =
      parse_prevalence("metastasis=0.3,cardiac_grade=0:0.9/1:0.04/2:0.03/3:0.03,superscan=0.1");
  EXPECT_DOUBLE_EQ(*o.metastasis, 0.3);
  EXPECT_DOUBLE_EQ((*o.cardiac_grade)[2], 0.03);
  EXPECT_DOUBLE_EQ(*o.superscan, 0.1);
  auto err = [](const std::string& s) {
    try {
      parse_prevalence(s);
    } catch (const ConfigError& e) {
      return e.where() + ": " + e.reason();
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(err("metastasis=1.5"), "--prevalence: metastasis is '1.5', not a probability");
  EXPECT_EQ(err("mets=0.2"), "--prevalence: unknown field 'mets'");
  EXPECT_EQ(err("cardiac_grade=0:0.5/1:0.2"), "--prevalence: cardiac_grade probabilities sum to 0.7, not 1");
  EXPECT_EQ(err("cardiac_grade=0:0.5/4:0.5"), "--prevalence: cardiac_grade part '4:0.5' is not GRADE:P");
  EXPECT_EQ(err("metastasis"), "--prevalence: 'metastasis' is not FIELD=VALUE");
}

TEST(Shard, ParsesAndRejects) {
  EXPECT_EQ(parse_shard("2/5"), std::make_pair(2, 5));
  for (const char* bad : {"5/5", "-1/2", "1/0", "a/b", "3", "1/2/3"})
    EXPECT_THROW(parse_shard(bad), ConfigError) << bad;
  EXPECT_EQ(shard_indices(7, 1, 3), (std::vector<uint64_t>{1, 4}));
}

}  // namespace
}  // namespace scintigen::phantom
