#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "audit/audit.h"
#include "audit/encoder.h"
#include "cli_util.h"
#include "commands.h"
#include "console.h"
#include "data/dataset.h"
#include "io/png.h"
#include "report/audit_html.h"
#include "report/html.h"
#include "run_guard.h"

namespace scintigen::cli {

namespace {

int cmd_encoder(int argc, char** argv) {
  CLI::App app(
      "Train the audit's encoder on real, labelled scans (docs/AUDIT.md \"Encoder\"): a metastasis and a cardiac\n"
      "(Perugini >= 2) classifier (src/clf, with Poisson, shift and count-scaling augmentation) whose embeddings,\n"
      "projected on their --components principal axes, with four image statistics (log total counts, bone/soft-tissue\n"
      "ratio, body length, high-frequency excess over Poisson), are the feature space of `scintigen audit`. Linear\n"
      "probes on held-out real scans (split 'test' of --data, or --heldout) show what the features capture.\n"
      "Use real scans that are NOT the audit's --real or --train. Exit status: 0 done, 2 bad input.\n",
      "scintigen audit encoder");
  audit::EncoderConfig c;
  app.add_option("--data,-d", c.data, "dataset of real, labelled scans (its 'test' split is held out)")->required();
  app.add_option("--heldout", c.heldout, "dataset of held-out real scans for the probes (default: split 'test')");
  app.add_option("--out,-o", c.out, "encoder folder to create (must not exist, or be empty)")->required();
  app.add_option("--epochs", c.epochs, "maximum epochs per classifier (early stopping, patience 5)")
      ->capture_default_str();
  app.add_option("--batch", c.batch, "batch size")->capture_default_str();
  app.add_option("--lr", c.lr, "AdamW learning rate")->capture_default_str();
  app.add_option("--probe-c", c.probe_c, "inverse ridge strength of the linear probes (scikit-learn's C)")
      ->capture_default_str();
  app.add_option("--components", c.components, "principal components of the embeddings kept as features")
      ->capture_default_str();
  app.add_option("--seed", c.seed, "seed")->capture_default_str();
  app.add_option("--threads", c.threads, "threads (0 = all cores)")->capture_default_str();
  app.add_option("--device", c.device, "cpu | cuda | cuda:N | auto")->capture_default_str();
  bool quiet = false;
  app.add_flag("--quiet,-q", quiet, "no progress bar or epoch lines");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  Console console(quiet);
  const audit::EncoderResult r = audit::train_encoder(c, &console);
  std::printf("encoder %s: %zu features, SHA-256 %s\n", r.out.c_str(), r.dim, r.sha256.c_str());
  for (const auto& [name, p] : r.probes.items()) {
    if (p.contains("error"))
      std::printf("  probe %-13s n/a (%s)\n", name.c_str(), p["error"].get<std::string>().c_str());
    else
      std::printf("  probe %-13s AUC %.3f [%.3f, %.3f] on %zu held-out scans\n", name.c_str(),
                  p["estimate"].get<double>(), p["ci"]["lower"].get<double>(), p["ci"]["upper"].get<double>(),
                  p["positives"].get<size_t>() + p["negatives"].get<size_t>());
  }
  return kExitOk;
}

// The closest pairs side by side (synthetic, then its nearest training scan), two pairs a row.
void write_pair_sheet(const nlohmann::json& audit_json, const audit::AuditConfig& c, const std::string& path) {
  const auto& mem = audit_json["sections"]["memorisation"];
  if (!mem.contains("closest_pairs") || mem["closest_pairs"].empty()) return;
  Dataset syn = Dataset::open(c.synthetic), train = Dataset::open(c.train);
  std::vector<Scan> scans;
  std::vector<std::string> captions;
  for (const auto& p : mem["closest_pairs"]) {
    scans.push_back(syn.load(p["synthetic_id"].get<std::string>()));
    captions.push_back(fmt::format("SYN {} {} {:.2f}T", p["synthetic_id"].get<std::string>(),
                                   p["space"].get<std::string>() == "pixel" ? "PIX" : "ENC",
                                   p["relative"].get<double>()));
    scans.push_back(train.load(p["train_id"].get<std::string>()));
    captions.push_back(fmt::format("TRAIN {}", p["train_id"].get<std::string>()));
  }
  std::vector<const Scan*> ptrs;
  for (const auto& s : scans) ptrs.push_back(&s);
  ContactSheetOptions o;
  o.columns = 4;
  write_contact_sheet(ptrs, captions, path, o);
}

int cmd_run(int argc, char** argv) {
  CLI::App app(
      "Audit a synthetic set (docs/AUDIT.md): fidelity and diversity in an encoder's feature space (Frechet and\n"
      "kernel distance, precision/recall, density/coverage, with bootstrap CIs beside a real-vs-real baseline, "
      "overall\n"
      "and per condition), image statistics, a classifier two-sample test, label fidelity, and with --train,\n"
      "memorisation (nearest training scans, copy threshold calibrated on --real) and membership inference.\n"
      "Writes OUT/audit.json, OUT/audit.html and, with --train, OUT/closest_pairs.png.\n"
      "Train the encoder first: scintigen audit encoder --data OTHER_REAL --out ENC.\n"
      "Exit status: 0 done (whatever the verdicts), 1 audit.json written but the HTML or sheet failed, 2 bad input.\n",
      "scintigen audit");
  audit::AuditConfig c;
  app.add_option("--real,-r", c.real, "real scans the generator never saw")->required();
  app.add_option("--synthetic,-s", c.synthetic, "the synthetic dataset to audit")->required();
  app.add_option("--train", c.train, "the generator's training scans (memorisation, membership)");
  app.add_option("--model,-m", c.model, "the generator (default: the one named in --synthetic's dataset.json)");
  app.add_option("--encoder,-e", c.encoder, "encoder folder (scintigen audit encoder)");
  app.add_option("--out,-o", c.out, "audit folder to create (must not exist, or be empty)")->required();
  app.add_option("--skip", c.skip,
                 "sections to leave out: fidelity, image_stats, c2st, label_fidelity, memorisation, membership")
      ->delimiter(',');
  app.add_option("--seed", c.seed, "seed (halves, folds, bootstrap, subsamples, membership noise)")
      ->capture_default_str();
  app.add_option("--bootstrap", c.bootstrap, "bootstrap replicates per CI")->capture_default_str();
  app.add_option("--conf-level", c.conf_level, "confidence level")->capture_default_str();
  app.add_option("--folds", c.folds, "cross-validation folds (by subject)")->capture_default_str();
  app.add_option("--c", c.c, "ridge logistic regression: inverse penalty (scikit-learn's C)")->capture_default_str();
  app.add_option("--min-per-condition", c.min_per_condition, "scans per side before a condition's metrics are computed")
      ->capture_default_str();
  app.add_option("--kd-subsets", c.kd_subsets, "kernel distance subsets")->capture_default_str();
  app.add_option("--kd-subset-size", c.kd_subset_size, "kernel distance subset size")->capture_default_str();
  app.add_option("--membership-n", c.membership_n, "training and held-out scans scored by the generator, each")
      ->capture_default_str();
  app.add_option("--membership-times", c.membership_times, "diffusion times of the denoising loss")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--membership-draws", c.membership_draws, "noise draws per time")->capture_default_str();
  app.add_option("--closest-pairs", c.closest_pairs, "pairs on the closest-pair sheet")->capture_default_str();
  app.add_option("--batch", c.batch, "scans per forward pass")->capture_default_str();
  app.add_option("--threads", c.threads, "threads (0 = all cores)")->capture_default_str();
  app.add_option("--device", c.device, "cpu | cuda | cuda:N | auto")->capture_default_str();
  bool quiet = false, json_out = false;
  app.add_flag("--json", json_out, "print audit.json on stdout");
  app.add_flag("--quiet,-q", quiet, "no progress bar");
  app.footer("Subcommand: scintigen audit encoder --data DS --out ENC (see scintigen audit encoder --help).");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  Console console(quiet);
  const nlohmann::json a = audit::run_audit(c, &console);
  int rc = kExitOk;
  const std::string html = (std::filesystem::path(c.out) / "audit.html").string();
  const std::string sheet = (std::filesystem::path(c.out) / "closest_pairs.png").string();
  std::string sheet_written;
  try {
    if (!c.train.empty() && a["sections"]["memorisation"].contains("closest_pairs")) {
      write_pair_sheet(a, c, sheet);
      sheet_written = sheet;
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.describe().c_str());
    rc = kExitPartial;
  }
  try {
    report::write_audit_report_html(html, a, report::load_web_assets(), sheet_written);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.describe().c_str());
    rc = kExitPartial;
  }
  if (json_out) {
    std::printf("%s\n", a.dump(2).c_str());
    return rc;
  }
  for (const auto& [name, v] : a["verdicts"].items())
    std::printf("%-15s %s  %s\n", name.c_str(), v["pass"].get<bool>() ? "PASS" : "FAIL",
                v["text"].get<std::string>().c_str());
  for (const auto& [name, s] : a["sections"].items())
    if (s.contains("skipped"))
      std::printf("%-15s skipped (%s)\n", name.c_str(), s["skipped"].get<std::string>().c_str());
  std::printf("audit: %s\n", (std::filesystem::path(c.out) / "audit.json").string().c_str());
  if (rc == kExitOk) std::printf("report: %s\n", html.c_str());
  return rc;
}

}  // namespace

int cmd_audit(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "encoder") == 0) return cmd_encoder(argc - 1, argv + 1);
  return cmd_run(argc, argv);
}

}  // namespace scintigen::cli
