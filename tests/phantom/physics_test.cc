// Physics that can fail: count expectation, Poisson statistics, depth (attenuation) by view,
// amyloid uptake by grade and tracer, lesions, superscan.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "phantom/anatomy.h"
#include "phantom/phantom.h"

namespace scintigen::phantom {
namespace {

PatientParams standard_patient() {
  PatientParams p;  // defaults: man, 65 y, 175 cm, 78 kg, HDP, 650 MBq, 3 h, no disease
  p.arm_abduction_deg = 6;
  return p;
}

// Mean of a view over a rectangle given in body-frame mm (the patient is not rotated).
double roi(const Scan& s, View v, const PatientParams& p, double x0, double x1, double y0, double y1) {
  const double pc = s.spacing_col_mm, pr = s.spacing_row_mm;
  auto col = [&](double x) { return static_cast<int>(std::lround((s.width * pc / 2 + p.shift_x_mm + x) / pc - 0.5)); };
  auto row = [&](double y) { return static_cast<int>(std::lround((p.top_margin_mm + p.shift_y_mm + y) / pr - 0.5)); };
  double sum = 0;
  int n = 0;
  for (int r = row(y0); r <= row(y1); ++r)
    for (int c = col(x0); c <= col(x1); ++c) sum += s.view(v)[static_cast<size_t>(r) * s.width + c], ++n;
  return sum / std::max(1, n);
}

double total(const Scan& s, View v) {
  double t = 0;
  for (size_t i = 0; i < s.view_size(); ++i) t += s.view(v)[i];
  return t;
}

const Host& host(const Anatomy& a, const std::string& name) {
  for (const Host& h : a.hosts)
    if (h.name == name) return h;
  throw std::runtime_error("no host " + name);
}

TEST(Physics, TotalCountsMatchActivityTimesSensitivityTimesDwell) {
  SiteProfile site = load_site_profile("large_centre");
  site.camera.mu_per_cm = 0;
  site.camera.scatter_fraction = 0;
  const PatientParams p = standard_patient();
  const Scan s = render_expected(p, site, GridSize{});
  double mbq = 0;
  for (const auto& [k, v] : compartment_activity_mbq(p)) mbq += v;
  // 650 MBq, 3 h: 460 MBq at scan time; about 40% in bone, 20% soft tissue, the rest excreted.
  EXPECT_GT(mbq, 0.4 * 460);
  EXPECT_LT(mbq, 0.85 * 460);
  const double expected = mbq * counts_per_mbq(p, site);   // 90 cps/MBq x 400 mm / (12 cm/min)
  EXPECT_NEAR(total(s, kAnterior) / expected, 1.0, 0.01);  // blur truncation at the edges only
  EXPECT_NEAR(total(s, kPosterior) / expected, 1.0, 0.01);
  // Noisy totals: Poisson with that mean (5 sigma).
  Scan noisy = s;
  Rng rng(7);
  add_poisson_noise(noisy, rng);
  for (View v : {kAnterior, kPosterior}) EXPECT_NEAR(total(noisy, v), total(s, v), 5 * std::sqrt(total(s, v)));
}

TEST(Physics, AttenuationAndScatterScaleTheCounts) {
  SiteProfile site = load_site_profile("large_centre");
  const PatientParams p = standard_patient();
  const Scan with = render_expected(p, site, GridSize{});
  site.camera.scatter_fraction = 0;
  const Scan primary = render_expected(p, site, GridSize{});
  site.camera.mu_per_cm = 0;
  const Scan unattenuated = render_expected(p, site, GridSize{});
  // Scatter makes up scatter_fraction of the window counts.
  EXPECT_NEAR(total(with, kAnterior) / total(primary, kAnterior), 1 / (1 - 0.25), 0.03);
  // Mean transmission of a 20-25 cm body at 0.15/cm.
  const double tr = total(primary, kAnterior) / total(unattenuated, kAnterior);
  EXPECT_GT(tr, 0.15);
  EXPECT_LT(tr, 0.6);
  // The site's count level lands in the clinical range (0.5-5 million counts per view).
  EXPECT_GT(total(with, kAnterior), 5e5);
  EXPECT_LT(total(with, kAnterior), 5e6);
}

TEST(Physics, PixelVarianceIsPoisson) {
  const SiteProfile site = load_site_profile("large_centre");
  const Scan expected = render_expected(standard_patient(), site, GridSize{});
  for (uint64_t seed : {1, 2}) {
    Scan s = expected;
    Rng rng = Rng::for_scan(seed, 0, Rng::kNoiseStream);
    add_poisson_noise(s, rng);
    double chi2 = 0, resid = 0;
    size_t n = 0;
    for (size_t i = 0; i < s.pixels.size(); ++i) {
      const double lam = expected.pixels[i];
      if (lam < 1) continue;
      const double d = s.pixels[i] - lam;
      chi2 += d * d / lam, resid += d, ++n;
    }
    ASSERT_GT(n, 50000u);
    // chi2/n has mean 1 and sd sqrt(2/n) (plus a small 1/lambda term): 6 sd tolerance.
    EXPECT_NEAR(chi2 / n, 1.0, 6 * std::sqrt(2.0 / n) + 0.004) << "seed " << seed;
    EXPECT_NEAR(resid / n, 0.0, 6 * std::sqrt(1.0 * 40 / n));
  }
}

TEST(Physics, SpineBrighterPosteriorSternumAnterior) {
  const SiteProfile site = load_site_profile("large_centre");
  const PatientParams p = standard_patient();
  const Scan s = render_expected(p, site, GridSize{});
  const Anatomy a = build_anatomy(p);
  const double H = a.height_mm;
  const Host& l2 = host(a, "L2");
  const double spine_ant = roi(s, kAnterior, p, -10, 10, l2.prim.y0 - 10, l2.prim.y0 + 10);
  const double spine_post = roi(s, kPosterior, p, -10, 10, l2.prim.y0 - 10, l2.prim.y0 + 10);
  EXPECT_GT(spine_post / spine_ant, 1.5) << spine_post << " vs " << spine_ant;
  // The sternum overlies the thoracic spine: it stands out against the spine below it on the
  // anterior view and hardly at all on the posterior view.
  const double st0 = 0.215 * H, st1 = 0.265 * H;
  const Host& t12 = host(a, "T12");
  auto contrast = [&](View v) {
    return roi(s, v, p, -8, 8, st0, st1) / roi(s, v, p, -8, 8, t12.prim.y0 - 10, t12.prim.y0 + 10);
  };
  EXPECT_GT(contrast(kAnterior), 1.3 * contrast(kPosterior)) << contrast(kAnterior) << " vs " << contrast(kPosterior);
}

TEST(Physics, HeartToRibRatioRisesWithGradeAndIsLowWithMdp) {
  const SiteProfile site = load_site_profile("large_centre");
  double ratio[2][4];
  for (int t = 0; t < 2; ++t)
    for (int g = 0; g < 4; ++g) {
      PatientParams p = standard_patient();
      p.tracer = t == 0 ? "DPD" : "MDP";
      p.cardiac_grade = g;
      const Scan s = render_expected(p, site, GridSize{});
      const Anatomy a = build_anatomy(p);
      const double heart = roi(s, kAnterior, p, a.x_heart - 12, a.x_heart + 12, a.y_heart - 12, a.y_heart + 12);
      const double rx = -0.072 * a.height_mm;  // right lateral ribs, same rows
      const double ribs = roi(s, kAnterior, p, rx - 8, rx + 8, a.y_heart - 25, a.y_heart + 25);
      ratio[t][g] = heart / ribs;
    }
  for (int g = 1; g < 4; ++g) EXPECT_GT(ratio[0][g], ratio[0][g - 1] * 1.1) << "DPD grade " << g;
  EXPECT_GT(ratio[0][3], 2.5 * ratio[0][0]);
  // MDP: at most a quarter of the DPD rise.
  EXPECT_LT(ratio[1][3] - ratio[1][0], 0.25 * (ratio[0][3] - ratio[0][0]))
      << "MDP " << ratio[1][0] << ".." << ratio[1][3] << " DPD " << ratio[0][0] << ".." << ratio[0][3];
  RecordProperty("heart_to_rib_dpd", std::to_string(ratio[0][0]) + " " + std::to_string(ratio[0][1]) + " " +
                                         std::to_string(ratio[0][2]) + " " + std::to_string(ratio[0][3]));
  std::printf("heart/rib DPD %.2f %.2f %.2f %.2f  MDP %.2f %.2f %.2f %.2f\n", ratio[0][0], ratio[0][1], ratio[0][2],
              ratio[0][3], ratio[1][0], ratio[1][1], ratio[1][2], ratio[1][3]);
}

TEST(Physics, MetastasesRaiseAndLyticLesionsLowerLocalCounts) {
  const SiteProfile site = load_site_profile("large_centre");
  PatientParams p = standard_patient();
  const Scan base = render_expected(p, site, GridSize{});
  const Anatomy a = build_anatomy(p);
  const Host& l3 = host(a, "L3");
  auto with_lesion = [&](double intensity, bool cold) {
    PatientParams q = p;
    q.metastasis = true;
    q.lesions.push_back({l3.prim.x0 + 5, l3.prim.y0, l3.prim.z, 24, intensity, cold, "L3"});
    return render_expected(q, site, GridSize{});
  };
  const Scan hot = with_lesion(1.0, false), cold = with_lesion(-0.85, true);
  const double y = l3.prim.y0, x = l3.prim.x0 + 5;
  for (View v : {kAnterior, kPosterior}) {
    // Anterior: L3 lies ~15 cm deep behind bowel and soft tissue, and its end plates, pedicles
    // and spinous process (host bone the lesion does not scale) fall in the same ROI.
    const double rise = v == kAnterior ? 1.15 : 1.2;
    EXPECT_GT(roi(hot, v, p, x - 6, x + 6, y - 6, y + 6), rise * roi(base, v, p, x - 6, x + 6, y - 6, y + 6));
    EXPECT_LT(roi(cold, v, p, x - 4, x + 4, y - 4, y + 4), 0.85 * roi(base, v, p, x - 4, x + 4, y - 4, y + 4));
  }
  EXPECT_EQ(hot.labels.lesion_count, 1);
}

TEST(Physics, KidneysFadeInASuperscan) {
  const SiteProfile site = load_site_profile("large_centre");
  PatientParams p = standard_patient();
  const Anatomy a = build_anatomy(p);
  const Prim* kidney = nullptr;
  for (const Prim& q : a.prims)
    if (q.comp == Comp::kKidney) {
      kidney = &q;
      break;
    }
  ASSERT_NE(kidney, nullptr);
  const Host& l1 = host(a, "L1");
  auto kidney_to_spine = [&](bool superscan) {
    PatientParams q = p;
    q.metastasis = superscan, q.superscan = superscan;
    const Scan s = render_expected(q, site, GridSize{});
    const double k = roi(s, kPosterior, q, kidney->x0 - 8, kidney->x0 + 8, kidney->y0 - 8, kidney->y0 + 8);
    const double sp = roi(s, kPosterior, q, -8, 8, l1.prim.y0 - 8, l1.prim.y0 + 8);
    return k / sp;
  };
  const double normal = kidney_to_spine(false), super = kidney_to_spine(true);
  EXPECT_LT(super, 0.5 * normal) << super << " vs " << normal;
}

}  // namespace
}  // namespace scintigen::phantom

namespace scintigen::phantom {
namespace {

TEST(Physics, SeparableBlurEqualsTheDirectReference) {
  const SiteProfile site = load_site_profile("ext_c");
  PatientParams p = standard_patient();
  p.cardiac_grade = 2;
  const Scan fast = render_expected(p, site, GridSize{128, 512});
  RenderOptions ref;
  ref.reference_blur = true;
  const Scan slow = render_expected(p, site, GridSize{128, 512}, ref);
  double max_abs = 0, max_val = 0;
  for (size_t i = 0; i < fast.pixels.size(); ++i) {
    max_abs = std::max(max_abs, static_cast<double>(std::fabs(fast.pixels[i] - slow.pixels[i])));
    max_val = std::max(max_val, static_cast<double>(slow.pixels[i]));
  }
  EXPECT_LT(max_abs, 1e-4 * max_val);  // float32 summation order only
}

}  // namespace
}  // namespace scintigen::phantom
