#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "clf/eval.h"
#include "clf/train.h"
#include "cli_util.h"
#include "commands.h"
#include "console.h"
#include "report/html.h"
#include "run_guard.h"
#include "stats/json.h"

namespace scintigen::cli {

namespace {

int cmd_train(int argc, char** argv) {
  CLI::App app(
      "Train a ResNet-style classifier on the two-view counts (docs/CLASSIFY.md): class-balanced sampling, count\n"
      "augmentation, early stopping on validation AUC. Validation: --val, else the datasets' 'val' split rows, else a\n"
      "seeded stratified split. Scans of split 'test' and scans without the task's label are skipped.\n"
      "Real + synthetic: --train real,synth --mix 1,1 gives each dataset an equal share of the draws of every class "
      "it\n"
      "holds; synthetic scans (origin 'synthetic') never validate. --resume continues a run from its last epoch\n"
      "(`--out CLF --resume [--epochs N]` alone reuses the run's settings), bit-identical to an uninterrupted run.\n"
      "Exit status: 0 done, 2 bad input.\n",
      "scintigen classify train");
  clf::ClassifierConfig c;
  std::vector<std::string> train;
  bool no_aug = false;
  app.add_option("--task", c.task, "metastasis | cardiac (positive: Perugini grade >= 2)")->capture_default_str();
  app.add_option("--train", train,
                 "training dataset folder(s), comma-separated or repeated (required unless --resume)");
  app.add_option("--mix", c.mix, "one sampling weight per --train dataset, e.g. 1,1 (default: all scans pooled)")
      ->delimiter(',');
  app.add_option("--out,-o", c.out, "classifier folder to create (must not exist, or be empty)")->required();
  app.add_option("--val", c.val, "validation dataset folder");
  app.add_option("--val-fraction", c.val_fraction,
                 "stratified validation fraction when there is no --val or 'val' split")
      ->capture_default_str();
  app.add_option("--epochs", c.epochs, "maximum epochs")->capture_default_str();
  app.add_option("--patience", c.patience, "stop after this many epochs without a better validation AUC")
      ->capture_default_str();
  app.add_option("--steps-per-epoch", c.steps_per_epoch,
                 "optimiser steps per epoch (0 = one pass over the training scans); fixed, it gives training sets of "
                 "different sizes the same step budget")
      ->capture_default_str();
  app.add_option("--batch", c.batch, "batch size (>= 2)")->capture_default_str();
  app.add_option("--lr", c.lr, "AdamW learning rate")->capture_default_str();
  app.add_option("--weight-decay", c.weight_decay, "AdamW weight decay")->capture_default_str();
  app.add_option("--seed", c.seed, "seed for initialisation, split, sampling and augmentation")->capture_default_str();
  app.add_option("--threads", c.threads, "threads (0 = all cores)")->capture_default_str();
  app.add_option("--height", c.height, "network input rows (scans are resampled, counts preserved)")
      ->capture_default_str();
  app.add_option("--width", c.width, "network input columns")->capture_default_str();
  app.add_option("--base-width", c.base_width, "channels of the first stage (doubling per stage)")
      ->capture_default_str();
  app.add_option("--norm", c.norm, "batch | group")->capture_default_str();
  app.add_option("--pool", c.pool, "global pooling: avgmax (mean and max, for focal findings) | avg")
      ->capture_default_str();
  app.add_option("--transform", c.transform, "input transform: anscombe (variance-stabilising) | log")
      ->capture_default_str();
  app.add_option("--device", c.device, "cpu | cuda | cuda:N | auto")->capture_default_str();
  app.add_flag("--no-augment", no_aug, "no count scaling, shifts or Poisson resampling");
  bool quiet = false;
  app.add_flag("--quiet,-q", quiet, "no progress bar or epoch lines");
  app.add_flag("--resume", c.resume, "continue the run in --out from its last finished epoch");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  if (train.empty() && c.resume) {  // the run's own settings; only epochs, threads, device from the flags
    clf::ClassifierConfig stored = clf::resumable_run_config(c.out);
    if (app.count("--epochs")) stored.epochs = c.epochs;
    if (app.count("--threads")) stored.threads = c.threads;
    if (app.count("--device")) stored.device = c.device;
    stored.out = c.out;
    stored.resume = true;
    c = stored;
  } else {
    if (train.empty()) throw ConfigError("--train", "no training dataset", "pass --train DS[,DS...]");
    c.train = split_commas(train);
    if (no_aug) c.augment.scale = c.augment.shift = c.augment.poisson = false;
  }
  Console console(quiet);
  const clf::TrainResult r = clf::train_classifier(c, &console);
  std::printf("trained %s classifier in %s: %zu training scans (%zu positive), %zu validation (%zu positive, %s)\n",
              c.task.c_str(), c.out.c_str(), r.train_scans, r.train_positives, r.val_scans, r.val_positives,
              r.val_source.c_str());
  if (r.train_synthetic || !r.source_shares.empty()) {
    std::printf("%zu of the training scans are synthetic", r.train_synthetic);
    for (size_t i = 0; i < r.source_shares.size() && i < c.train.size(); ++i)
      std::printf("%s %s %.0f%%", i ? "," : "; share of draws:", c.train[i].c_str(), 100 * r.source_shares[i]);
    std::printf("\n");
  }
  std::printf("best epoch %d of %zu%s: validation AUC %.4f, threshold %.4f; %.1f images/s\n", r.best_epoch,
              r.history.size(), r.early_stopped ? " (early stop)" : "", r.best_val_auc, r.threshold, r.images_per_s);
  if (r.skipped_unlabelled || r.skipped_test_split)
    std::printf("skipped %zu scans without the '%s' label, %zu of split 'test'\n", r.skipped_unlabelled, c.task.c_str(),
                r.skipped_test_split);
  return kExitOk;
}

int cmd_eval(int argc, char** argv) {
  CLI::App app(
      "Evaluate a classifier: AUC with DeLong CI overall and per site, metrics at the validation threshold,\n"
      "calibration, DeLong comparison with --compare, Kaplan-Meier + log-rank by predicted group. JSON report,\n"
      "then beside it a self-contained HTML summary: tables, ROC, calibration and survival plots (Vega-Lite).\n"
      "Exit status: 0 done, 1 JSON written but the HTML summary failed, 2 bad input.\n",
      "scintigen classify eval");
  clf::EvalConfig c;
  std::vector<std::string> data;
  bool json_out = false, no_html = false;
  std::string html;
  app.add_option("--model,-m", c.model, "classifier folder (classify train --out)")->required();
  app.add_option("--data,-d", data, "dataset folder(s), comma-separated or repeated")->required();
  app.add_option("--out,-o", c.out, "report JSON file")->required();
  app.add_option("--compare", c.compare, "a second classifier folder of the same task: paired DeLong test");
  app.add_option("--batch", c.batch, "scans per forward pass")->capture_default_str();
  app.add_option("--threads", c.threads, "threads (0 = all cores)")->capture_default_str();
  app.add_option("--bins", c.calibration_bins, "calibration bins")->capture_default_str();
  app.add_option("--device", c.device, "cpu | cuda | cuda:N | auto")->capture_default_str();
  CLI::Option* html_opt = app.add_option("--html", html, "HTML summary file (default: --out with the extension .html)");
  app.add_flag("--no-html", no_html, "write no HTML summary")->excludes(html_opt);
  app.add_flag("--json", json_out, "print the whole report on stdout");
  bool quiet = false;
  app.add_flag("--quiet,-q", quiet, "no progress bar");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  c.data = split_commas(data);
  if (!no_html && html.empty()) html = std::filesystem::path(c.out).replace_extension(".html").string();
  if (!no_html && html == c.out)
    throw ConfigError("--html", fmt::format("is the report JSON path {}", c.out),
                      "pass another --html path, or --no-html");
  Console console(quiet);
  const nlohmann::json r = clf::evaluate_classifier(c, &console);
  // The JSON is written; the HTML summary comes second. Its error is caught here, not in main: with
  // the JSON done, a failed summary is a partial failure (exit 1), not bad input.
  int rc = kExitOk;
  if (!no_html) {
    try {
      report::write_classify_report_html(html, r, report::load_web_assets());
    } catch (const Error& e) {
      std::fprintf(stderr, "error: %s\n", e.describe().c_str());
      rc = kExitPartial;
    }
  }
  if (json_out) {
    std::printf("%s\n", r.dump(2).c_str());
    return rc;
  }
  auto auc_text = [](const nlohmann::json& a) {
    if (a.contains("error")) return fmt::format("n/a ({})", a["error"].get<std::string>());
    const stats::AucResult auc = stats::auc_from_json(a);
    return fmt::format("{:.4f} [{:.4f}, {:.4f}]", auc.auc, auc.ci_lower, auc.ci_upper);
  };
  for (const auto& d : r["datasets"]) {
    std::printf("%s: %zu scans, %zu labelled\n", d["path"].get<std::string>().c_str(), d["scans"].get<size_t>(),
                d["labelled"].get<size_t>());
    std::printf("  AUC %s\n", auc_text(d["overall"]["auc"]).c_str());
    if (d["overall"].contains("delong_paired") && !d["overall"]["delong_paired"].contains("error"))
      std::printf("  vs --compare: AUC %s, DeLong p = %.4g\n", auc_text(d["overall"]["compare_auc"]).c_str(),
                  d["overall"]["delong_paired"]["p_value"].is_null()
                      ? NAN
                      : d["overall"]["delong_paired"]["p_value"].get<double>());
    for (const auto& s : d["sites"])
      std::printf("  site %-14s n=%-5zu AUC %s\n", s["site"].get<std::string>().c_str(), s["n"].get<size_t>(),
                  auc_text(s["auc"]).c_str());
    if (!d["survival"].is_null() && !d["survival"]["log_rank"].contains("error"))
      std::printf(
          "  log-rank by predicted group: chi2 %.3f, p = %.4g\n", d["survival"]["log_rank"]["chi_square"].get<double>(),
          d["survival"]["log_rank"]["p_value"].is_null() ? NAN : d["survival"]["log_rank"]["p_value"].get<double>());
  }
  std::printf("report: %s\n", c.out.c_str());
  if (!no_html && rc == kExitOk) std::printf("summary: %s\n", html.c_str());
  return rc;
}

}  // namespace

int cmd_classify(int argc, char** argv) {
  static const std::vector<Command> kCommands = {
      {"train", "train a metastasis or cardiac classifier", cmd_train},
      {"eval", "evaluate classifiers: per-site AUC, DeLong, calibration, survival", cmd_eval},
  };
  return dispatch("scintigen classify", "train and evaluate downstream classifiers", kCommands, argc, argv);
}

}  // namespace scintigen::cli
