#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <tuple>

#include "cli_util.h"
#include "commands.h"
#include "console.h"
#include "data/dataset.h"
#include "pipeline/dataset_ops.h"
#include "run_guard.h"

namespace scintigen::cli {

namespace {

void print_summary(const nlohmann::json& s) {
  std::printf("dataset   %s\n", s["path"].get<std::string>().c_str());
  std::printf("uid       %s\n", s.value("dataset_uid", "").c_str());
  std::printf("created   %s   schema %d\n", s.value("created", "").c_str(), s.value("schema_version", 0));
  std::printf("scans     %zu\n", s["scans"].get<size_t>());
  if (s.contains("subjects")) std::printf("subjects  %zu (pseudonymous)\n", s["subjects"].get<size_t>());
  auto line = [](const char* name, const nlohmann::json& m) {
    std::string t;
    for (auto it = m.begin(); it != m.end(); ++it)
      t += fmt::format("{}{}={}", t.empty() ? "" : "  ", it.key(), it.value().dump());
    std::printf("%-9s %s\n", name, t.c_str());
  };
  line("origin", s["origin"]);
  line("split", s["split"]);
  line("views", s["views"]);
  line("grid", s["grid_WxH"]);
  line("dtype", s["dtype"]);
  for (auto it = s["labels"].begin(); it != s["labels"].end(); ++it) line(it.key().c_str(), it.value());
}

int cmd_info(int argc, char** argv) {
  CLI::App app("Summarise a dataset (opening it checks its structure). --verify also re-hashes every scan's pixels.\n",
               "scintigen dataset info");
  std::string dir;
  bool json = false, verify = false, ids = false;
  app.add_option("dataset", dir, "dataset folder")->required();
  app.add_flag("--json", json, "machine-readable output");
  app.add_flag("--verify", verify, "recompute every pixel_sha256 (reads all pixels)");
  app.add_flag("--ids", ids, "list scan ids with their labels");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  Dataset ds = Dataset::open(dir);
  nlohmann::json s = summarize_dataset(ds);
  VerifyReport v = ds.verify(verify);
  s["verify"] = {{"ok", v.ok}, {"rehashed", v.pixels_rehashed}, {"problems", v.problems}};
  if (ids) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : ds.records())
      list.push_back({{"id", r.id},
                      {"split", r.split},
                      {"origin", to_string(r.origin)},
                      {"labels", labels_to_json(r.labels)},
                      {"pixel_sha256", r.pixel_sha256}});
    s["scan_list"] = list;
  }
  if (json) {
    std::printf("%s\n", s.dump(2).c_str());
  } else {
    print_summary(s);
    if (ids)
      for (const auto& r : s["scan_list"])
        std::printf("  %s  %-6s %-9s %s\n", r["id"].get<std::string>().c_str(), r["split"].get<std::string>().c_str(),
                    r["origin"].get<std::string>().c_str(), r["labels"].dump().c_str());
    std::printf("verify    %s%s\n", v.ok ? "ok" : "FAILED",
                verify ? fmt::format(" ({} scans re-hashed)", v.pixels_rehashed).c_str()
                       : " (structure; --verify re-hashes pixels)");
  }
  for (const auto& p : v.problems) std::fprintf(stderr, "error: %s: %s\n", dir.c_str(), p.c_str());
  return v.ok ? kExitOk : kExitBadInput;
}

int cmd_split(int argc, char** argv) {
  CLI::App app("Assign train/val/test (or any named) splits, stratified by labels and kept per subject.\n",
               "scintigen dataset split");
  std::string dir, fractions = "train=0.8,val=0.1,test=0.1", stratify = "metastasis,cardiac_grade";
  SplitConfig cfg;
  bool no_subject = false;
  app.add_option("dataset", dir, "dataset folder")->required();
  app.add_option("--fractions", fractions, "name=fraction pairs summing to 1")->capture_default_str();
  app.add_option("--stratify", stratify, "comma-separated label fields ('' for none)")->capture_default_str();
  app.add_option("--seed", cfg.seed, "shuffle seed")->capture_default_str();
  app.add_flag("--ignore-subjects", no_subject, "split scans independently even when they share a subject");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  cfg.fractions = parse_fractions(fractions, "--fractions");
  cfg.stratify = split_commas({stratify});
  cfg.by_subject = !no_subject;
  for (const auto& [name, n] : split_dataset(dir, cfg)) std::printf("%-8s %zu\n", name.c_str(), n);
  return kExitOk;
}

int cmd_merge(int argc, char** argv) {
  CLI::App app("Merge datasets into a new one (pixels and labels unchanged; ids prefixed d<k>_ when they collide).\n",
               "scintigen dataset merge");
  std::vector<std::string> inputs;
  std::string out;
  MergeConfig cfg;
  app.add_option("datasets", inputs, "two or more dataset folders")->required();
  app.add_option("--out,-o", out, "new dataset folder")->required();
  app.add_flag("--prefix-ids", cfg.prefix_ids, "always prefix ids with d<k>_");
  bool quiet = false;
  app.add_flag("--quiet,-q", quiet, "no progress bar");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  Console console(quiet);
  const size_t n = merge_datasets(inputs, out, cfg, &console);
  std::printf("merged %zu scans into %s\n", n, out.c_str());
  return kExitOk;
}

int cmd_resample(int argc, char** argv) {
  CLI::App app(
      "Resample every scan to a new grid into a new dataset, counts preserved (box integration: total counts and\n"
      "their Poisson meaning are kept). Labels, ids, splits and the source's provenance are carried over, so a\n"
      "resampled synthetic set still names its generator (e.g. to audit a 128x512 model's scans at 64x256).\n",
      "scintigen dataset resample");
  std::string dir, out, size;
  app.add_option("dataset", dir, "dataset folder")->required();
  app.add_option("--size", size, "new grid WIDTHxHEIGHT, e.g. 64x256")->required();
  app.add_option("--out,-o", out, "new dataset folder")->required();
  bool quiet = false;
  app.add_flag("--quiet,-q", quiet, "no progress bar");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  ResampleConfig cfg;
  std::tie(cfg.width, cfg.height) = parse_size(size, "--size");
  Console console(quiet);
  const size_t n = resample_dataset(dir, out, cfg, &console);
  std::printf("resampled %zu scans to %dx%d into %s\n", n, cfg.width, cfg.height, out.c_str());
  return kExitOk;
}

int cmd_export(int argc, char** argv) {
  CLI::App app(
      "Export scans: dicom (NM whole-body objects, de-identified, marked DERIVED / RESEARCH), png16 (16-bit counts\n"
      "per view), preview (windowed 8-bit, both views) or sheet (one contact-sheet PNG).\n",
      "scintigen dataset export");
  std::string dir, format = "dicom";
  ExportConfig cfg;
  app.add_option("dataset", dir, "dataset folder")->required();
  app.add_option("--out,-o", cfg.out, "output folder")->required();
  app.add_option("--format,-f", format, "dicom | png16 | preview | sheet")->capture_default_str();
  app.add_flag("--two-instances", cfg.two_instances,
               "DICOM: two single-frame instances per scan instead of one two-frame object");
  app.add_option("--ids", cfg.ids, "only these scan ids");
  app.add_option("--split", cfg.split, "only scans of this split");
  app.add_option("--limit", cfg.limit, "at most this many scans (0 = all)")->capture_default_str();
  app.add_option("--columns", cfg.columns, "contact-sheet columns")->capture_default_str();
  bool quiet = false;
  app.add_flag("--quiet,-q", quiet, "no progress bar");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  cfg.format = export_format_from_string(format);
  Console console(quiet);
  ExportResult r = export_dataset(dir, cfg, &console);
  for (const auto& f : r.failures) std::fprintf(stderr, "error: %s: %s\n", dir.c_str(), f.c_str());
  if (!quiet)
    std::printf("exported %zu scans as %s: %zu files in %s\n", r.scans, format.c_str(), r.files.size(),
                cfg.out.c_str());
  return r.failures.empty() ? kExitOk : (r.scans ? kExitPartial : kExitBadInput);
}

}  // namespace

int cmd_dataset(int argc, char** argv) {
  static const std::vector<Command> kCommands = {
      {"info", "summarise and verify a dataset", cmd_info},
      {"split", "assign stratified train/val/test splits", cmd_split},
      {"merge", "merge datasets into a new one", cmd_merge},
      {"resample", "resample every scan to a new grid, counts preserved", cmd_resample},
      {"export", "export to DICOM, 16-bit PNG, previews or a contact sheet", cmd_export},
  };
  return dispatch("scintigen dataset", "inspect, verify, split, merge, resample and export datasets", kCommands, argc,
                  argv);
}

}  // namespace scintigen::cli
