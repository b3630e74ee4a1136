#include "clf/train.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "clf/model.h"
#include "core/error.h"
#include "core/fs_util.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/random_streams.h"
#include "core/rng.h"
#include "core/sha256.h"
#include "core/split.h"
#include "core/version.h"
#include "data/dataset.h"
#include "run/run.h"
#include "run/torch.h"
#include "stats/roc.h"

namespace scintigen::clf {

Task task_from_string(const std::string& s, const std::string& where) {
  if (s == "metastasis") return Task::kMetastasis;
  if (s == "cardiac") return Task::kCardiac;
  throw ConfigError(where, fmt::format("unknown task '{}'", s), "expected metastasis | cardiac");
}

const char* to_string(Task t) {
  return t == Task::kMetastasis ? "metastasis" : "cardiac";
}

std::optional<int> task_label(const Labels& labels, Task task) {
  if (task == Task::kMetastasis) return labels.metastasis;
  if (!labels.cardiac_grade) return std::nullopt;
  return *labels.cardiac_grade >= 2 ? 1 : 0;
}

void ClassifierConfig::validate() const {
  task_from_string(task, "--task");
  if (train.empty()) throw ConfigError("--train", "no training dataset", "pass --train DS[,DS...]");
  if (out.empty()) throw ConfigError("--out", "no output folder");
  ClassifierNetConfig net{2, height, width, base_width, blocks, norm, pool, transform};
  net.validate("classifier config");
  auto range = [](const char* field, double v, double lo, double hi) {
    if (!(v >= lo && v <= hi)) throw ConfigError(field, fmt::format("is {}, expected {}..{}", v, lo, hi));
  };
  range("--epochs", epochs, 1, 100000);
  range("--batch", batch, 2, 4096);  // BatchNorm needs two samples per batch
  range("--lr", lr, 1e-8, 10);
  range("weight_decay", weight_decay, 0, 10);
  range("--threads", threads, 0, 1024);
  range("val_fraction", val_fraction, 0.01, 0.9);
  range("patience", patience, 1, 100000);
  range("--steps-per-epoch", steps_per_epoch, 0, 10000000);
  augment.validate("augment");
  if (!mix.empty()) {
    if (mix.size() != train.size())
      throw ConfigError("--mix", fmt::format("has {} weights for {} --train datasets", mix.size(), train.size()),
                        "give one weight per training dataset, in the same order, e.g. --mix 1,1");
    for (double m : mix)
      if (!(m >= 0 && m <= 1e6)) throw ConfigError("--mix", fmt::format("weight {} is not in 0..1e6", m));
    if (std::all_of(mix.begin(), mix.end(), [](double m) { return m == 0; }))
      throw ConfigError("--mix", "every weight is 0");
  }
  run::parse_device_name(device);
}

nlohmann::json ClassifierConfig::to_json() const {
  nlohmann::json j = {{"task", task},
                      {"train", train},
                      {"val", val},
                      {"out", out},
                      {"height", height},
                      {"width", width},
                      {"mix", mix},
                      {"base_width", base_width},
                      {"blocks", blocks},
                      {"norm", norm},
                      {"pool", pool},
                      {"transform", transform},
                      {"epochs", epochs},
                      {"batch", batch},
                      {"lr", lr},
                      {"weight_decay", weight_decay},
                      {"seed", seed},
                      {"threads", threads},
                      {"val_fraction", val_fraction},
                      {"patience", patience},
                      {"augment", augment.to_json()},
                      {"device", device}};
  if (steps_per_epoch > 0) j["steps_per_epoch"] = steps_per_epoch;  // absent = a pass (older runs)
  return j;
}

ClassifierConfig ClassifierConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ClassifierConfig c;
  try {
    c.task = j.at("task").get<std::string>();
    c.train = j.at("train").get<std::vector<std::string>>();
    c.val = j.value("val", c.val);
    c.mix = j.value("mix", c.mix);
    c.out = j.value("out", c.out);
    c.height = j.value("height", c.height);
    c.width = j.value("width", c.width);
    c.base_width = j.value("base_width", c.base_width);
    c.blocks = j.value("blocks", c.blocks);
    c.norm = j.value("norm", c.norm);
    c.pool = j.value("pool", std::string("avg"));
    c.transform = j.value("transform", std::string("log"));
    c.epochs = j.value("epochs", c.epochs);
    c.batch = j.value("batch", c.batch);
    c.lr = j.value("lr", c.lr);
    c.weight_decay = j.value("weight_decay", c.weight_decay);
    c.seed = j.value("seed", c.seed);
    c.threads = j.value("threads", c.threads);
    c.val_fraction = j.value("val_fraction", c.val_fraction);
    c.patience = j.value("patience", c.patience);
    c.steps_per_epoch = j.value("steps_per_epoch", c.steps_per_epoch);
    if (j.contains("augment")) c.augment = AugmentConfig::from_json(j["augment"], where);
    c.device = j.value("device", c.device);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where, fmt::format("bad classifier config: {}", e.what()));
  }
  c.validate();
  return c;
}

nlohmann::json TrainResult::to_json() const {
  nlohmann::json h = nlohmann::json::array();
  for (const auto& e : history)
    h.push_back({{"epoch", e.epoch},
                 {"loss", e.loss},
                 {"val_auc", e.val_auc},
                 {"seconds", e.seconds},
                 {"images_per_s", e.images_per_s},
                 {"best", e.best}});
  return {{"train_scans", train_scans},
          {"train_positives", train_positives},
          {"val_scans", val_scans},
          {"val_positives", val_positives},
          {"skipped_unlabelled", skipped_unlabelled},
          {"skipped_test_split", skipped_test_split},
          {"train_synthetic", train_synthetic},
          {"source_shares", source_shares},
          {"resumed_from_epoch", resumed_from_epoch},
          {"val_source", val_source},
          {"best_epoch", best_epoch},
          {"best_val_auc", best_val_auc},
          {"threshold", threshold},
          {"threshold_rule", "Youden-optimal on the validation scores of the best epoch"},
          {"images_per_s", images_per_s},
          {"early_stopped", early_stopped},
          {"history", h}};
}

namespace {

// Labelled scans at the network's grid, (n, 2, H, W) contiguous.
struct Cohort {
  std::vector<float> pixels;
  std::vector<int> labels;
  std::vector<std::string> ids;
  size_t positives() const { return static_cast<size_t>(std::count(labels.begin(), labels.end(), 1)); }
};

struct Candidate {
  size_t dataset;
  ScanRecord record;
  int label;
};

void load_cohort(const std::vector<Dataset>& datasets, const std::vector<Candidate>& items, int h, int w, Cohort& c) {
  const size_t per_scan = 2 * static_cast<size_t>(h) * w;
  c.pixels.resize(items.size() * per_scan);
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    std::vector<float> px = scan_to_grid(datasets[it.dataset].load(it.record), h, w);
    std::copy(px.begin(), px.end(), c.pixels.begin() + i * per_scan);
    c.labels.push_back(it.label);
    c.ids.push_back(datasets[it.dataset].dir() + ":" + it.record.id);
  }
}

void require_both_classes(const Cohort& c, const std::string& where, const std::string& what, const char* task) {
  const size_t pos = c.positives();
  if (c.labels.empty() || pos == 0 || pos == c.labels.size())
    throw InputError(
        where,
        fmt::format("the {} set has {} scans labelled for '{}', {} of them positive: both classes are needed", what,
                    c.labels.size(), task, pos),
        "add scans of the missing class, or choose the other --task");
}

// The command run.json records for a classifier training run.
constexpr const char* kCommand = "classify train";

// The training state after each epoch, stored as the checkpoint's state (checkpoint/state.json,
// committed with the archive of weights and optimizer) and read back by --resume.
struct RunState {
  TrainResult result;
  int epochs_run = 0;
  int since_best = 0;
  std::vector<double> best_scores;  // validation scores of the best epoch
  std::string data_sha256;          // of the training and validation scans, in order

  nlohmann::json to_json() const {
    return {{"result", result.to_json()},
            {"epochs_run", epochs_run},
            {"since_best", since_best},
            {"best_scores", best_scores},
            {"data_sha256", data_sha256}};
  }
  static RunState parse(const nlohmann::json& j, const std::string& where) {
    RunState s;
    try {
      const auto& r = j.at("result");
      s.epochs_run = j.at("epochs_run").get<int>();
      s.since_best = j.at("since_best").get<int>();
      s.best_scores = j.at("best_scores").get<std::vector<double>>();
      s.data_sha256 = j.at("data_sha256").get<std::string>();
      s.result.best_epoch = r.at("best_epoch").get<int>();
      s.result.best_val_auc = r.at("best_val_auc").get<double>();
      s.result.threshold = r.at("threshold").get<double>();
      s.result.early_stopped = r.at("early_stopped").get<bool>();
      s.result.resumed_from_epoch = r.value("resumed_from_epoch", 0);
      for (const auto& e : r.at("history"))
        s.result.history.push_back({e.at("epoch").get<int>(), e.at("loss").get<double>(), e.at("val_auc").get<double>(),
                                    e.at("seconds").get<double>(), e.at("images_per_s").get<double>(),
                                    e.at("best").get<bool>()});
    } catch (const nlohmann::json::exception& e) {
      throw InputError(where, fmt::format("damaged training state: {}", e.what()), "start a new run without --resume");
    }
    return s;
  }
};

// Fields of run.json's config that may differ between a run and its --resume.
const std::vector<std::string> kMayChangeOnResume = {"epochs", "threads", "device", "out"};

}  // namespace

ClassifierConfig resumable_run_config(const std::string& out) {
  return ClassifierConfig::from_json(run::read_run_record(out, kCommand)["config"], out + "/run.json");
}

TrainResult train_classifier(const ClassifierConfig& config, EventSink* events) {
  config.validate();
  if (!config.resume) run::check_new_out_folder(config.out);  // before loading any data
  const Task task = task_from_string(config.task);
  const char* task_name = to_string(task);
  RunState state;
  TrainResult& result = state.result;

  // Gather labelled scans of the training datasets (never split "test").
  std::vector<Dataset> datasets;
  std::vector<Candidate> candidates;
  for (const auto& dir : config.train) {
    datasets.push_back(Dataset::open(dir));
    size_t labelled = 0;
    for (auto& r : datasets.back().records()) {
      auto y = task_label(r.labels, task);
      if (!y) {
        ++result.skipped_unlabelled;
        continue;
      }
      ++labelled;
      if (r.split == "test") {
        ++result.skipped_test_split;
        continue;
      }
      candidates.push_back({datasets.size() - 1, std::move(r), *y});
    }
    if (labelled == 0 && config.train.size() == 1)
      throw InputError(dir,
                       fmt::format("no scan carries the label needed by task '{}' ({})", task_name,
                                   task == Task::kMetastasis ? "metastasis" : "cardiac_grade"),
                       "attach labels (scintigen ingest --labels) or choose the other --task");
  }
  if (candidates.empty())
    throw InputError(config.train.front(),
                     fmt::format("no training scan carries the label needed by task '{}'", task_name),
                     "attach labels (scintigen ingest --labels) or choose the other --task");

  // Validation: a separate dataset, else the split column, else a seeded stratified split; of
  // real (non-synthetic) scans only.
  auto synthetic = [](const Candidate& c) { return c.record.origin == Origin::kSynthetic; };
  std::vector<Candidate> train_items, val_items;
  std::vector<Dataset> val_datasets;
  if (!config.val.empty()) {
    result.val_source = "dataset";
    val_datasets.push_back(Dataset::open(config.val));
    for (auto& r : val_datasets.back().records()) {
      if (r.origin == Origin::kSynthetic) continue;
      if (auto y = task_label(r.labels, task)) val_items.push_back({0, std::move(r), *y});
    }
    train_items = candidates;
  } else if (std::any_of(candidates.begin(), candidates.end(),
                         [&](const Candidate& c) { return c.record.split == "val" && !synthetic(c); })) {
    result.val_source = "split column";
    for (auto& c : candidates) (c.record.split == "val" && !synthetic(c) ? val_items : train_items).push_back(c);
  } else {
    result.val_source = "stratified random";
    // core/split.h: the real scans, stratified by class, val_fraction to validation (largest
    // remainder, at least one scan of each class in each part); synthetic scans always train.
    std::vector<SplitItem> items;
    std::vector<size_t> real;
    for (size_t i = 0; i < candidates.size(); ++i)
      if (!synthetic(candidates[i])) real.push_back(i), items.push_back({"", std::to_string(candidates[i].label)});
    const std::vector<size_t> part = grouped_stratified_split(
        items,
        SplitSpec{{config.val_fraction, 1 - config.val_fraction}, config.seed, RandomStream::kClfValSplit, true});
    std::vector<bool> is_val(candidates.size(), false);
    for (size_t k = 0; k < real.size(); ++k) is_val[real[k]] = part[k] == 0;
    for (size_t i = 0; i < candidates.size(); ++i) (is_val[i] ? val_items : train_items).push_back(candidates[i]);
  }

  const int h = config.height, w = config.width;
  Cohort train, val;
  load_cohort(datasets, train_items, h, w, train);
  load_cohort(config.val.empty() ? datasets : val_datasets, val_items, h, w, val);
  const std::string train_names = fmt::format("{}", fmt::join(config.train, ","));
  require_both_classes(train, train_names, "training", task_name);
  require_both_classes(val, config.val.empty() ? train_names : config.val, "validation (real scans)", task_name);
  result.train_scans = train.labels.size();
  result.train_positives = train.positives();
  result.train_synthetic = static_cast<size_t>(std::count_if(train_items.begin(), train_items.end(), synthetic));
  result.val_scans = val.labels.size();
  result.val_positives = val.positives();
  {
    std::string ids;
    for (const auto* items : {&train_items, &val_items})
      for (const auto& c : *items) ids += c.record.id + ":" + c.record.pixel_sha256 + "\n";
    state.data_sha256 = sha256_hex(ids);
  }

  std::vector<size_t> sources;
  for (const auto& c : train_items) sources.push_back(c.dataset);
  const BalancedSampler sampler(train.labels, sources, config.mix);
  result.source_shares = config.mix.empty() ? std::vector<double>{} : sampler.source_shares();

  const int threads = resolve_threads(config.threads);
  at::set_num_threads(threads);
  const torch::Device device = run::resolve_device(config.device);
  torch::manual_seed(config.seed);

  ClassifierNetConfig net_config{2, h, w, config.base_width, config.blocks, config.norm, config.pool, config.transform};
  ClassifierNet net(net_config);
  net->to(device);
  torch::optim::AdamW optimizer(net->parameters(),
                                torch::optim::AdamWOptions(config.lr).weight_decay(config.weight_decay));

  // The output folder: a new one (run.json first), or the run to resume, whose last
  // checkpoint restores weights, optimizer and training state (none yet: from the start).
  nlohmann::json record;
  if (config.resume) {
    record = run::read_run_record(config.out, kCommand);
    run::refuse_changed_settings(
        config.out, record["config"], config.to_json(), kMayChangeOnResume,
        "resume with the run's own settings (only --epochs, --threads, --device may change), or "
        "start a new --out");
    if (const auto checkpoint = run::find_checkpoint(config.out)) {
      torch::serialize::InputArchive archive;
      run::load_checkpoint(*checkpoint, archive, device);
      load_net(net, archive, checkpoint->tensors, &optimizer);
      RunState saved = RunState::parse(checkpoint->state, config.out + "/" + run::kCheckpointDir + "/state.json");
      if (saved.data_sha256 != state.data_sha256)
        throw InputError(config.out, "the training or validation scans differ from the run's",
                         "resume with the same datasets, unchanged");
      // Keep this run's data counts, restore the training history.
      saved.result.train_scans = result.train_scans;
      saved.result.train_positives = result.train_positives;
      saved.result.train_synthetic = result.train_synthetic;
      saved.result.val_scans = result.val_scans;
      saved.result.val_positives = result.val_positives;
      saved.result.skipped_unlabelled = result.skipped_unlabelled;
      saved.result.skipped_test_split = result.skipped_test_split;
      saved.result.val_source = result.val_source;
      saved.result.source_shares = result.source_shares;
      state = std::move(saved);
      state.result.resumed_from_epoch = state.epochs_run;
      note(events, fmt::format("resuming {} after epoch {} (best epoch {}, validation AUC {:.4f})", config.out,
                               state.epochs_run, state.result.best_epoch, state.result.best_val_auc));
    }
    if (record["config"] != config.to_json()) {  // --epochs, --threads, --device: the run's settings from now on
      record["config"] = config.to_json();
      run::write_run_record(config.out, record);
    }
  } else {
    run::check_new_out_folder(config.out);
    run::create_out_folder(config.out);
    record = run::make_run_record(kCommand, config.to_json());
    run::write_run_record(config.out, record);
  }
  nlohmann::json info = {
      {"format", kClassifierFormat},
      {"format_version", kClassifierFormatVersion},
      {"created", record.value("created", utc_now_iso8601())},
      {"task", task_name},
      {"config", config.to_json()},
      {"net", net_config.to_json()},
      {"input_transform", fmt::format("{}, then (x - mean) / (std + 1e-5) per scan over both views",
                                      net_config.transform == "log" ? "log1p(counts)" : "2 sqrt(counts + 3/8)")},
      {"versions", record.value("versions", core_versions())}};
  info["versions"]["torch"] = torch_versions();
  info["versions"]["threads"] = threads;

  auto write_info = [&] {
    info["training"] = result.to_json();
    info["training"]["epochs_run"] = state.epochs_run;
    // The validation scores of the best epoch, for audit and for the threshold's provenance.
    nlohmann::json cases = nlohmann::json::array();
    for (size_t i = 0; i < state.best_scores.size() && i < val.labels.size(); ++i)
      cases.push_back({{"id", val.ids[i]}, {"label", val.labels[i]}, {"score", state.best_scores[i]}});
    info["validation_scores"] = cases;
    write_file_atomic(config.out + "/classifier.json", info.dump(2) + "\n");
  };

  const size_t per_scan = 2 * static_cast<size_t>(h) * w;
  const size_t steps = config.steps_per_epoch > 0 ? static_cast<size_t>(config.steps_per_epoch)
                                                  : (train.labels.size() + config.batch - 1) / config.batch;
  const int first_epoch = state.epochs_run + 1;
  for (int epoch = first_epoch; epoch <= config.epochs && !result.early_stopped; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    net->train();
    // The sampler's and the augmentation's draws of epoch e are functions of (seed, e), so a
    // resumed run repeats them exactly.
    Rng sample_rng = stream_rng(config.seed, RandomStream::kClfEpochSampler, static_cast<uint64_t>(epoch));
    Rng aug_rng = stream_rng(config.seed, RandomStream::kClfAugment, static_cast<uint64_t>(epoch));
    const std::vector<size_t> order = sampler.draw(steps * config.batch, sample_rng);
    Progress progress(events, fmt::format("{} epoch {}/{}", task_name, epoch, config.epochs), steps);
    double loss_sum = 0.0;
    auto x = torch::empty({config.batch, 2, h, w}, torch::kFloat32);  // (B, 2, H, W)
    auto y = torch::empty({config.batch}, torch::kFloat32);           // (B)
    for (size_t s = 0; s < steps; ++s) {
      float* xp = x.data_ptr<float>();
      float* yp = y.data_ptr<float>();
      for (int b = 0; b < config.batch; ++b) {
        const size_t i = order[s * config.batch + b];
        std::copy_n(train.pixels.data() + i * per_scan, per_scan, xp + b * per_scan);
        augment_scan(xp + b * per_scan, h, w, config.augment, aug_rng);
        yp[b] = static_cast<float>(train.labels[i]);
      }
      auto logits = net->forward(x.to(device));  // (B)
      auto loss = torch::binary_cross_entropy_with_logits(logits, y.to(device));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>();
      progress.advance();
    }
    progress.finish();
    const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const std::vector<double> scores = predict_probabilities(net, val.pixels.data(), val.labels.size(), 64, device);
    EpochLog log;
    log.epoch = epoch;
    log.loss = loss_sum / steps;
    log.val_auc = stats::auc(val.labels, scores, "validation scores");
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    log.images_per_s = steps * config.batch / train_s;
    log.best = result.history.empty() || log.val_auc > result.best_val_auc;
    if (log.best) {
      state.best_scores = scores;
      state.since_best = 0;
      result.best_epoch = epoch;
      result.best_val_auc = log.val_auc;
      const double t = stats::youden_metrics(val.labels, scores, 0.95, "validation scores").threshold;
      result.threshold = std::isfinite(t) ? t : 0.5;
      save_net(net, config.out + "/best.pt");
    } else {
      ++state.since_best;
    }
    result.history.push_back(log);
    double ips = 0;
    for (const auto& e : result.history) ips += e.images_per_s;
    result.images_per_s = ips / result.history.size();
    result.early_stopped = state.since_best >= config.patience && epoch < config.epochs;
    state.epochs_run = epoch;
    // The commit point of the epoch: weights, optimizer and state in one checkpoint (run.h).
    torch::serialize::OutputArchive archive;
    save_net(net, archive, &optimizer);
    run::save_checkpoint(config.out, archive, state.to_json());
    write_info();
    note(events, fmt::format("{} epoch {}/{}  loss {:.4f}  val AUC {:.4f}{}  {:.1f} images/s  {}", task_name, epoch,
                             config.epochs, log.loss, log.val_auc, log.best ? " (best)" : "", log.images_per_s,
                             format_duration(log.seconds)));
  }
  if (state.epochs_run < first_epoch) write_info();  // a resumed run with nothing left: record the config
  return result;
}

}  // namespace scintigen::clf
