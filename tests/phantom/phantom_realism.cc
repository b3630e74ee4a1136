// Realism evidence for docs/SIMULATOR.md (run by hand; not a test):
//   phantom_realism sheet OUT_DIR      contact sheet + previews of named cases and all sites
//   phantom_realism compare            simulated normal scans vs the real NM1 scan (table)
//   phantom_realism auc N              AUC of trivial scores (max pixel, total counts) for metastasis
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "io/dicom_read.h"
#include "io/png.h"
#include "phantom/phantom.h"

using namespace scintigen;
using namespace scintigen::phantom;

namespace {

Scan make_case(const std::string& site_name, uint64_t seed, const PrevalenceOverride& prev,
               void (*edit)(PatientParams&) = nullptr) {
  SiteProfile site = load_site_profile(site_name);
  Rng rng = Rng::for_scan(seed, 0, Rng::kPatientStream);
  PatientParams p = sample_patient(site, prev, rng);
  if (edit) edit(p);
  Rng noise = Rng::for_scan(seed, 0, Rng::kNoiseStream);
  return render(p, site, GridSize{}, noise);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "sheet";
  if (mode == "sheet") {
    const std::string out = argc > 2 ? argv[2] : ".";
    PrevalenceOverride normal, met, g1, g2, g3, sup;
    normal.metastasis = 0, normal.cardiac_grade = std::array<double, 4>{1, 0, 0, 0};
    met = normal, met.metastasis = 1, met.superscan = 0;
    g1 = normal, g1.cardiac_grade = std::array<double, 4>{0, 1, 0, 0};
    g2 = normal, g2.cardiac_grade = std::array<double, 4>{0, 0, 1, 0};
    g3 = normal, g3.cardiac_grade = std::array<double, 4>{0, 0, 0, 1};
    sup = met, sup.superscan = 1;
    std::vector<Scan> scans;
    std::vector<std::string> caps;
    auto dpd = [](PatientParams& p) { p.tracer = "DPD"; };
    scans.push_back(make_case("large_centre", 1, normal)), caps.push_back("normal");
    scans.push_back(make_case("large_centre", 2, normal)), caps.push_back("normal");
    scans.push_back(make_case("large_centre", 3, met)), caps.push_back("metastatic");
    scans.push_back(make_case("large_centre", 4, met)), caps.push_back("metastatic");
    scans.push_back(make_case("large_centre", 5, g1, dpd)), caps.push_back("grade 1 DPD");
    scans.push_back(make_case("large_centre", 6, g2, dpd)), caps.push_back("grade 2 DPD");
    scans.push_back(make_case("large_centre", 7, g3, dpd)), caps.push_back("grade 3 DPD");
    scans.push_back(make_case("large_centre", 8, sup)), caps.push_back("superscan");
    for (const char* s : {"large_centre", "small_centre", "ext_a", "ext_b", "ext_c", "ext_d"})
      scans.push_back(make_case(s, 11, PrevalenceOverride{})), caps.push_back(s);
    std::vector<const Scan*> ptrs;
    for (auto& s : scans) ptrs.push_back(&s);
    ContactSheetOptions o;
    o.columns = 7;
    o.tile_height = 300;
    write_contact_sheet(ptrs, caps, out + "/sim_contact_sheet.png", o);
    for (size_t i = 0; i < scans.size(); ++i) {
      char name[64];
      std::snprintf(name, sizeof name, "/case%02zu.png", i);
      write_preview_png(scans[i], out + name);
      std::printf("%zu %-14s %s counts ant %.0f post %.0f max %.0f lesions %d\n", i, caps[i].c_str(),
                  scans[i].labels.tracer.c_str(), scans[i].meta["expected_counts"][0].get<double>(),
                  scans[i].meta["expected_counts"][1].get<double>(),
                  *std::max_element(scans[i].pixels.begin(), scans[i].pixels.end()), *scans[i].labels.lesion_count);
    }
    return 0;
  }
  if (mode == "dump") {  // anterior views of N normal large_centre scans as raw float32 for realism_compare.py
    const std::string out = argc > 2 ? argv[2] : "normals.f32";
    const int n = argc > 3 ? std::atoi(argv[3]) : 20;
    const std::string site_name = argc > 4 ? argv[4] : "large_centre";
    SiteProfile site = load_site_profile(site_name);
    SimConfig cfg;
    cfg.n = n;
    cfg.seed = 2024;
    cfg.prevalence.metastasis = 0;
    cfg.prevalence.cardiac_grade = std::array<double, 4>{1, 0, 0, 0};
    std::FILE* f = std::fopen(out.c_str(), "wb");
    int h = 0, w = 0;
    simulate(site, cfg, [&](Scan&& s) {
      h = s.height, w = s.width;
      std::fwrite(s.view(kAnterior), sizeof(float), s.view_size(), f);
    });
    std::fclose(f);
    std::printf("%d %d %d %.4f\n", n, h, w, load_site_profile(site_name).camera.pixel_mm);
    return 0;
  }
  if (mode == "auc") {  // trivial scores must not separate metastatic from normal scans
    const int n = argc > 2 ? std::atoi(argv[2]) : 500;
    const std::string site_name = argc > 3 ? argv[3] : "large_centre";
    SiteProfile site = load_site_profile(site_name);
    SimConfig cfg;
    cfg.n = n;
    cfg.seed = 77;
    cfg.prevalence.metastasis = 0.5;
    std::vector<int> y;
    std::vector<double> s_max, s_total, s_p999;
    simulate(site, cfg, [&](Scan&& s) {
      y.push_back(*s.labels.metastasis);
      double mx = 0, tot = 0;
      for (float v : s.pixels) mx = std::max<double>(mx, v), tot += v;
      std::vector<float> px(s.pixels);
      std::nth_element(px.begin(), px.begin() + px.size() * 999 / 1000, px.end());
      s_max.push_back(mx), s_total.push_back(tot), s_p999.push_back(px[px.size() * 999 / 1000] / (tot / px.size()));
    });
    auto auc = [&](const std::vector<double>& sc) {  // Mann-Whitney
      double num = 0, pos = 0, neg = 0;
      for (size_t i = 0; i < sc.size(); ++i)
        for (size_t j = 0; j < sc.size(); ++j)
          if (y[i] == 1 && y[j] == 0) num += sc[i] > sc[j] ? 1 : (sc[i] == sc[j] ? 0.5 : 0);
      for (int v : y) (v ? pos : neg) += 1;
      return num / (pos * neg);
    };
    int pos = 0;
    for (int v : y) pos += v;
    std::printf("site %s: %d scans, %d metastatic\n", site_name.c_str(), n, pos);
    std::printf("AUC max pixel: %.3f\nAUC total counts: %.3f\nAUC 99.9th percentile / mean: %.3f\n", auc(s_max),
                auc(s_total), auc(s_p999));
    return 0;
  }
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
