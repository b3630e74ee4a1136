#include "gen/autoencoder_train.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/resample.h"
#include "core/sha256.h"
#include "core/splitmix.h"
#include "core/version.h"
#include "data/dataset.h"
#include "gen/autoencoder.h"
#include "gen/generate_tensors.h"
#include "gen/metrics_log.h"
#include "gen/model_weights.h"
#include "gen/train_data.h"
#include "gen/trainer.h"
#include "gen/transform.h"
#include "gen/unet.h"
#include "run/run.h"
#include "run/torch.h"

namespace scintigen::gen {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kCommand = "autoencoder train";
constexpr int kSheetScans = 5;  // validation scans in each sample sheet

}  // namespace

void AutoencoderRunConfig::validate() const {
  if (out.empty()) throw ConfigError("--out", "is empty", "give the autoencoder folder to write");
  if (batch < 1 || batch > 65536) throw ConfigError("--batch", std::to_string(batch), "must be in 1..65536");
  if (train.accum > batch)
    throw ConfigError("--accum", fmt::format("{} micro-batches exceed the batch of {}", train.accum, batch),
                      "use --accum <= --batch");
  if (!(kl_weight >= 0) || kl_weight > 1)
    throw ConfigError("--kl-weight", fmt::format("{}", kl_weight), "must be in 0..1 (e.g. 1e-6)");
  if (stop_at < 0) throw ConfigError("--stop-at", std::to_string(stop_at), "must be >= 0");
  if (!(time_limit_min >= 0))
    throw ConfigError("--time-limit", fmt::format("{}", time_limit_min), "must be >= 0 minutes (0 = no limit)");
  if (log_every < 1) throw ConfigError("--log-every", std::to_string(log_every), "must be >= 1");
  if (checkpoint_every < 1) throw ConfigError("--checkpoint-every", std::to_string(checkpoint_every), "must be >= 1");
  if (val_every < 0 || sample_every < 0) throw ConfigError("--val-every/--sample-every", "negative", "must be >= 0");
  if (model.transform.count_max < 0)
    throw ConfigError("--count-max", fmt::format("{}", model.transform.count_max),
                      "must be > 0, or 0 to fit it to the data");
  AutoencoderConfig m = model;
  if (!(m.transform.count_max > 0)) m.transform.count_max = 1;  // fitted later
  m.validate();
  train.validate();
  data.validate();
  adversarial.validate();
  if (adversarial.enabled() && (std::min(model.height, model.width) >> adversarial.layers) < 4)
    throw ConfigError("--disc-layers", std::to_string(adversarial.layers),
                      fmt::format("{} stride-2 layers leave no patches on a {} x {} grid (the shorter side halved "
                                  "per layer must stay >= 4)",
                                  adversarial.layers, model.height, model.width));
  run::parse_device_name(device);
}

json AutoencoderRunConfig::to_json() const {
  json j = {{"data", data.to_json()}, {"model", model.to_json()}, {"train", train.to_json()},
            {"kl_weight", kl_weight}, {"batch", batch},           {"device", device}};
  if (adversarial.enabled()) j["adversarial"] = adversarial.to_json();  // absent when off, as before it existed
  return j;
}

void AdversarialConfig::validate() const {
  if (!(weight >= 0 && weight <= 100))
    throw ConfigError("--adv-weight", fmt::format("{}", weight), "must be in 0..100 (0 = no adversarial term)");
  if (start < 0) throw ConfigError("--adv-start", std::to_string(start), "must be >= 0");
  if (channels < 4 || channels > 256 || channels % 4)
    throw ConfigError("--disc-channels", std::to_string(channels), "must be a multiple of 4 in 4..256");
  if (layers < 1 || layers > 5) throw ConfigError("--disc-layers", std::to_string(layers), "must be in 1..5");
}

json AdversarialConfig::to_json() const {
  return {{"weight", weight}, {"start", start}, {"channels", channels}, {"layers", layers}};
}

namespace {

// One optimiser step of the autoencoder and its full state; the counterpart of Trainer
// (trainer.h) with the Poisson-KL objective.
class AeTrainer {
 public:
  AeTrainer(const AutoencoderConfig& m, const TrainConfig& t, const AdversarialConfig& adv, double mean_count,
            torch::Device device)
      : cfg_(t), model_cfg_(m), adv_(adv), device_(device) {
    torch::manual_seed(cfg_.seed);  // weight initialisation
    net_ = Autoencoder(m);
    {
      // Start at the data's mean count, so the first steps learn shape rather than level.
      torch::NoGradGuard g;
      net_->dec_out->bias.fill_(std::log(std::max(1e-3, mean_count)));
    }
    ema_ = Autoencoder(m);
    ema_update(*ema_, *net_, 0.0);  // copy
    for (auto& p : ema_->parameters()) p.set_requires_grad(false);
    net_->to(device_);
    ema_->to(device_);
    opt_ = make_adamw(net_->parameters(), cfg_);
    if (adv_.enabled()) {  // after the autoencoder's draws: without the term, initialisation is as before
      disc_ = PatchDiscriminator(adv_.channels, adv_.layers, kDiscriminatorGroups);
      disc_->to(device_);
      // The discriminator's optimiser as in Esser et al. 2021: Adam, betas (0.5, 0.9), no decay.
      disc_opt_ = std::make_unique<torch::optim::Adam>(disc_->parameters(),
                                                       torch::optim::AdamOptions(cfg_.lr).betas({0.5, 0.9}));
    }
  }

  // x (B, 2, H, W) model space, eps (B, Z, h, w): one step; returns the mean total loss.
  double step(const torch::Tensor& x_in, const torch::Tensor& eps_in, double kl_weight) {
    auto x = x_in.to(device_), eps = eps_in.to(device_);
    auto counts = model_to_counts(x, model_cfg_.transform);  // the observed counts x stands for
    net_->train();
    lr_ = learning_rate(cfg_, step_);
    for (auto& g : opt_->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr_);
    opt_->zero_grad();
    const bool adversarial = adv_.enabled() && step_ >= adv_.start;
    // The fake scans' Poisson draws: a stream of (seed, step) alone, as the latent noise.
    auto draw_gen = at::make_generator<at::CPUGeneratorImpl>(step_seed(cfg_.seed ^ kDrawStream, step_));
    const int64_t B = x.size(0), chunks = std::max<int64_t>(1, std::min<int64_t>(cfg_.accum, B));
    double total = 0, nll = 0, kl = 0, gen = 0, lambda = 0;
    std::vector<std::pair<int64_t, int64_t>> spans;
    std::vector<torch::Tensor> fakes;
    int64_t begin = 0;
    for (int64_t k = 0; k < chunks; ++k) {
      const int64_t end = B * (k + 1) / chunks;
      if (end <= begin) continue;
      const double w = static_cast<double>(end - begin) / B;
      torch::Tensor loss;
      {
        AutocastScope ac(cfg_.bf16, device_);
        AutoencoderLoss l = autoencoder_loss(net_, x.slice(0, begin, end), counts.slice(0, begin, end),
                                             eps.slice(0, begin, end), kl_weight);
        loss = l.total;
        nll += l.nll.item<double>() * w;
        kl += l.kl.item<double>() * w;
        if (adversarial) {
          auto rate = torch::exp(l.log_rate.detach().clamp_max(std::log(1e6))).cpu();
          auto fake =
              straight_through_fake(l.log_rate, torch::poisson(rate, draw_gen).to(device_), model_cfg_.transform);
          auto g = -disc_->forward(fake).to(torch::kFloat).mean();
          auto a = adaptive_weight(l.nll, g, net_->dec_out->weight);
          loss = loss + adv_.weight * a * g;
          gen += g.item<double>() * w;
          lambda += a.item<double>() * w;
          fakes.push_back(fake.detach());
          spans.emplace_back(begin, end);
        }
      }
      (loss * w).backward();
      total += loss.item<double>() * w;
      begin = end;
    }
    grad_norm_ = cfg_.grad_clip > 0 ? torch::nn::utils::clip_grad_norm_(net_->parameters(), cfg_.grad_clip) : 0.0;
    opt_->step();
    if (adversarial) {  // the discriminator's step on the same scans and draws
      for (auto& g : disc_opt_->param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr_);
      disc_opt_->zero_grad();
      double d_loss = 0;
      for (size_t k = 0; k < fakes.size(); ++k) {
        const auto [b0, b1] = spans[k];
        const double w = static_cast<double>(b1 - b0) / B;
        torch::Tensor ld;
        {
          AutocastScope ac(cfg_.bf16, device_);
          ld = hinge_discriminator_loss(disc_->forward(x.slice(0, b0, b1)), disc_->forward(fakes[k]));
        }
        (ld * w).backward();
        d_loss += ld.item<double>() * w;
      }
      disc_opt_->step();
      last_d_loss_ = d_loss;
    }
    ++step_;
    const double n = static_cast<double>(step_);
    ema_update(*ema_, *net_, std::min(cfg_.ema_decay, (1 + n) / (10 + n)));
    last_nll_ = nll;
    last_kl_ = kl;
    last_gen_ = gen;
    last_lambda_ = lambda;
    return total;
  }

  void save(torch::serialize::OutputArchive& archive) const {
    save_training_state(archive, *net_, *ema_, *opt_, step_);
    if (!disc_) return;
    torch::serialize::OutputArchive d, o;
    disc_->save(d);
    disc_opt_->save(o);
    archive.write("discriminator", d);
    archive.write("discriminator_optimizer", o);
  }

  void load(torch::serialize::InputArchive& archive, const std::string& where) {
    step_ = load_training_state(archive, *net_, *ema_, *opt_, where, "autoencoder");
    if (disc_) {
      try {
        torch::serialize::InputArchive d, o;
        archive.read("discriminator", d);
        archive.read("discriminator_optimizer", o);
        disc_->load(d);
        disc_opt_->load(o);
      } catch (const c10::Error& err) {
        std::string msg = err.what_without_backtrace();
        throw InputError(where, "does not hold this run's discriminator: " + msg.substr(0, 300),
                         "resume with the flags that made it, or start a new --out");
      }
      disc_->to(device_);
    }
    net_->to(device_);
    ema_->to(device_);
    for (auto& p : ema_->parameters()) p.set_requires_grad(false);
  }

  Autoencoder& ema() { return ema_; }
  int64_t steps_done() const { return step_; }
  double last_lr() const { return lr_; }
  double last_grad_norm() const { return grad_norm_; }
  double last_nll() const { return last_nll_; }
  double last_kl() const { return last_kl_; }
  // The adversarial term's last values (0 before its start): -mean D(fake), the adaptive weight
  // and the discriminator's hinge loss.
  double last_gen() const { return last_gen_; }
  double last_lambda() const { return last_lambda_; }
  double last_d_loss() const { return last_d_loss_; }
  int64_t discriminator_parameters() const { return disc_ ? count_parameters(*disc_) : 0; }

 private:
  static constexpr int kDiscriminatorGroups = 8;
  static constexpr uint64_t kDrawStream = 0x5eed0adbULL;  // separates the draws' stream from the noise's

  TrainConfig cfg_;
  AutoencoderConfig model_cfg_;
  AdversarialConfig adv_;
  torch::Device device_;
  Autoencoder net_{nullptr}, ema_{nullptr};
  std::unique_ptr<torch::optim::AdamW> opt_;
  PatchDiscriminator disc_{nullptr};
  std::unique_ptr<torch::optim::Adam> disc_opt_;
  int64_t step_ = 0;
  double lr_ = 0, grad_norm_ = 0, last_nll_ = 0, last_kl_ = 0, last_gen_ = 0, last_lambda_ = 0, last_d_loss_ = 0;
};

// Decoded log expected counts of model-space scans x (B, 2, H, W) from their latent means.
torch::Tensor reconstruct_log_rate(Autoencoder& ae, const torch::Tensor& x, bool bf16, const torch::Device& device) {
  torch::NoGradGuard g;
  AutocastScope ac(bf16, device);
  return ae->decode(ae->encode(x.to(device)).first).to(torch::kFloat);
}

// Mean Poisson deviance per pixel of the validation scans under their reconstructions (-1 when
// there are none).
double validation_deviance(Autoencoder& ae, const AutoencoderConfig& cfg, const ScanSet& set, int batch, bool bf16,
                           const torch::Device& device) {
  if (set.size() == 0) return -1;
  ae->eval();
  double total = 0;
  for (int64_t b0 = 0; b0 < set.size(); b0 += batch) {
    const int64_t b1 = std::min<int64_t>(set.size(), b0 + batch);
    auto x = set.x.slice(0, b0, b1);
    auto r = reconstruct_log_rate(ae, x, bf16, device);
    total += poisson_deviance(r, model_to_counts(x.to(device), cfg.transform)).item<double>() * (b1 - b0);
  }
  return total / set.size();
}

// Per latent channel: the mean and standard deviation of the training scans' latent means, and
// their pooled standard deviation (the scale a diffusion model divides by).
json latent_statistics(Autoencoder& ae, const ScanSet& set, int batch, bool bf16, const torch::Device& device) {
  torch::NoGradGuard g;
  ae->eval();
  const int Z = ae->config().latent_channels;
  auto sum = torch::zeros({Z}, torch::kDouble), sum2 = torch::zeros({Z}, torch::kDouble);
  double n = 0;
  for (int64_t b0 = 0; b0 < set.size(); b0 += batch) {
    const int64_t b1 = std::min<int64_t>(set.size(), b0 + batch);
    torch::Tensor mean;
    {
      AutocastScope ac(bf16, device);
      mean = ae->encode(set.x.slice(0, b0, b1).to(device)).first;
    }
    auto m = mean.to(torch::kDouble).cpu();  // (b, Z, h, w)
    sum += m.sum({0, 2, 3});
    sum2 += (m * m).sum({0, 2, 3});
    n += static_cast<double>(m.size(0) * m.size(2) * m.size(3));
  }
  std::vector<double> mu(Z), sd(Z);
  double pooled = 0;
  for (int z = 0; z < Z; ++z) {
    mu[z] = sum[z].item<double>() / n;
    sd[z] = std::sqrt(std::max(0.0, sum2[z].item<double>() / n - mu[z] * mu[z]));
    pooled += sum2[z].item<double>() / n;
  }
  return {{"channel_mean", mu}, {"channel_std", sd}, {"rms", std::sqrt(pooled / Z)}};
}

// Validation scans above their reconstructions (expected counts), as a contact sheet.
void write_sheet(Autoencoder& ae, const AutoencoderConfig& cfg, const ScanSet& val, const TrainCallbacks& cb,
                 const std::string& out, int64_t step, bool bf16, const torch::Device& device) {
  if (!cb.write_sheet || val.size() == 0) return;
  ae->eval();
  const int64_t n = std::min<int64_t>(kSheetScans, val.size());
  auto x = val.x.slice(0, 0, n);
  auto expected = torch::exp(reconstruct_log_rate(ae, x, bf16, device)).cpu().contiguous();
  auto observed = model_to_counts(x, cfg.transform).contiguous();
  std::vector<Scan> scans;
  std::vector<std::string> captions;
  for (int64_t i = 0; i < n; ++i) {
    scans.push_back(scan_from_counts(observed[i], {}, ConditionSpec{}));
    captions.push_back(fmt::format("validation {}", i + 1));
  }
  for (int64_t i = 0; i < n; ++i) {
    scans.push_back(scan_from_counts(expected[i], {}, ConditionSpec{}));
    captions.push_back(fmt::format("reconstruction {} (expected)", i + 1));
  }
  fs::create_directories(out + "/samples");
  cb.write_sheet(scans, captions, fmt::format("{}/samples/step_{:06d}.png", out, step));
}

}  // namespace

AutoencoderRunResult run_autoencoder_training(const AutoencoderRunConfig& config, const TrainCallbacks& cb,
                                              EventSink* events) {
  config.validate();
  AutoencoderRunConfig c = config;
  at::set_num_threads(resolve_threads(c.threads));
  const torch::Device device = run::resolve_device(c.device);
  const std::string info_path = c.out + "/autoencoder.json";
  AutoencoderRunResult res;
  res.out = c.out;

  json previous;
  std::optional<run::Checkpoint> checkpoint;
  if (c.resume) {
    previous = run::read_run_record(c.out, kCommand);
    const json& stored = previous["config"];
    if (c.warmup_from_run && stored.contains("train"))
      c.train.warmup_steps = stored["train"].value("warmup_steps", c.train.warmup_steps);
    run::refuse_changed_settings(c.out, stored, c.to_json(), {"train.steps"},
                                 "resume with the run's own flags (only --steps may change), or start a new --out");
    c.train.validate();
    const std::optional<int64_t> finished = run::finished_steps(c.out, "autoencoder.json", c.train.steps);
    if (finished && *finished == c.train.steps) {
      res.already_finished = res.finished = true;
      res.steps_done = res.start_step = *finished;
      return res;
    }
    checkpoint = run::find_checkpoint(c.out);
    if (finished && !checkpoint)
      throw InputError(c.out + "/" + run::kCheckpointDir,
                       "is missing, so the finished run cannot be extended (it holds the optimiser state)",
                       "train a new autoencoder into a new --out");
  } else {
    run::check_new_out_folder(c.out);
  }

  // The data at the autoencoder's grid, in model space; no conditions (the autoencoder has none).
  ModelConfig data_cfg;
  data_cfg.height = c.model.height;
  data_cfg.width = c.model.width;
  data_cfg.conditions = ConditionSpec{};
  data_cfg.transform.count_max = c.model.transform.count_max;  // 0: fit
  TrainingData data = load_training_data(c.data, data_cfg, events);
  AutoencoderConfig cfg = c.model;
  cfg.transform.count_max = data_cfg.transform.count_max;
  cfg.validate();
  if (c.resume && previous.contains("model_config"))
    run::refuse_changed_settings(c.out, previous["model_config"], cfg.to_json(), {},
                                 "resume with the same data and settings", "model_config.");
  if (!c.resume) {
    run::create_out_folder(c.out);
    json record = run::make_run_record(kCommand, c.to_json());
    record["model_config"] = cfg.to_json();
    record["io"] = {{"log_every", c.log_every},
                    {"checkpoint_every", c.checkpoint_every},
                    {"val_every", c.val_every},
                    {"sample_every", c.sample_every},
                    {"threads", c.threads}};
    run::write_run_record(c.out, record);
  }
  const double mean_count = model_to_counts(data.train.x, cfg.transform).mean().item<double>();
  AeTrainer trainer(cfg, c.train, c.adversarial, mean_count, device);
  res.train_scans = static_cast<size_t>(data.train.size());
  res.val_scans = static_cast<size_t>(data.val.size());
  if (checkpoint) {
    torch::serialize::InputArchive archive;
    run::load_checkpoint(*checkpoint, archive);
    trainer.load(archive, checkpoint->tensors);
    res.start_step = trainer.steps_done();
    run::check_checkpoint_within(res.start_step, c.train.steps, c.out);
    note(events, fmt::format("resuming {} at step {} of {}", c.out, res.start_step, c.train.steps));
  } else {
    note(events, fmt::format("autoencoder: {} parameters, 2 x {} x {} -> {} x {} x {} latents, count_max {}",
                             trainer.ema()->parameter_count(), cfg.height, cfg.width, cfg.latent_channels,
                             cfg.latent_height(), cfg.latent_width(), cfg.transform.count_max));
    if (c.adversarial.enabled())
      note(events, fmt::format("adversarial term: weight {} from step {}; patch discriminator, {} parameters",
                               c.adversarial.weight, c.adversarial.start, trainer.discriminator_parameters()));
  }
  const int64_t previous_steps = c.resume ? run::recorded_steps(previous, c.train.steps) : c.train.steps;
  if (previous_steps != c.train.steps) {
    run::record_steps_change(previous, c.to_json(), res.start_step, previous_steps, c.train.steps);
    run::write_run_record(c.out, previous);
  }

  const int64_t total = c.train.steps;
  const int64_t end = c.stop_at > 0 ? std::min(total, c.stop_at) : total;
  MetricsLog metrics(c.out + "/metrics.jsonl", res.start_step, true);
  auto save_checkpoint = [&] {
    torch::serialize::OutputArchive archive;
    trainer.save(archive);
    run::save_checkpoint(c.out, archive, {{"step", trainer.steps_done()}});
  };
  const int step_width = static_cast<int>(std::to_string(total).size());
  run::StepClock clock;
  double loss_acc = 0, nll_acc = 0, kl_acc = 0;
  int64_t loss_n = 0, images_since_log = 0;
  for (int64_t step = trainer.steps_done(); step < end; ++step) {
    auto idx = torch::tensor(training_batch(data, c.train.seed, step, c.batch), torch::kLong);
    auto x = data.train.x.index_select(0, idx);  // (B, 2, H, W)
    auto gen = at::make_generator<at::CPUGeneratorImpl>(step_seed(c.train.seed, step));
    auto eps =
        torch::randn({c.batch, cfg.latent_channels, cfg.latent_height(), cfg.latent_width()}, gen, torch::kFloat);
    loss_acc += trainer.step(x, eps, c.kl_weight);
    nll_acc += trainer.last_nll();
    kl_acc += trainer.last_kl();
    ++loss_n;
    images_since_log += c.batch;
    const int64_t done = step + 1;
    bool out_of_time = false;
    if (done % c.log_every == 0 || done == end) {
      const run::StepClock::Tick tick = clock.tick(images_since_log, (end - done) * c.batch);
      out_of_time = c.time_limit_min > 0 && done < end && tick.elapsed_s >= c.time_limit_min * 60;
      res.final_loss = loss_acc / loss_n;
      json line = {{"step", done},
                   {"loss", res.final_loss},
                   {"poisson_nll", nll_acc / loss_n},
                   {"kl", kl_acc / loss_n},
                   {"lr", trainer.last_lr()},
                   {"grad_norm", trainer.last_grad_norm()},
                   {"images_per_s", tick.images_per_s},
                   {"elapsed_s", tick.elapsed_s},
                   {"eta_s", tick.eta_s}};
      std::string adv_text;
      if (c.adversarial.enabled()) {  // the last step's values
        line["adversarial"] = {{"generator", trainer.last_gen()},
                               {"adaptive_weight", trainer.last_lambda()},
                               {"discriminator", trainer.last_d_loss()}};
        adv_text = done > c.adversarial.start ? fmt::format("  adv {:.3f} x{:.3g}  disc {:.3f}", trainer.last_gen(),
                                                            trainer.last_lambda(), trainer.last_d_loss())
                                              : "  adv off until step " + std::to_string(c.adversarial.start);
      }
      metrics.write(line);
      note(events, fmt::format("autoencoder {:>{}}/{}  loss {:.4f}  kl {:.1f}{}  lr {:.2e}  {}", done, step_width,
                               total, res.final_loss, kl_acc / loss_n, adv_text, trainer.last_lr(), tick.describe()));
      loss_acc = nll_acc = kl_acc = 0;
      loss_n = images_since_log = 0;
    }
    if (c.val_every > 0 && done % c.val_every == 0 && done != total) {
      const double dev = validation_deviance(trainer.ema(), cfg, data.val, c.batch, c.train.bf16, device);
      if (dev >= 0) {
        metrics.write({{"step", done}, {"val_deviance", dev}});
        note(events, fmt::format("validation deviance (EMA) at step {}: {:.4f} per pixel", done, dev));
      }
    }
    if (c.sample_every > 0 && done % c.sample_every == 0 && done != total)
      write_sheet(trainer.ema(), cfg, data.val, cb, c.out, done, c.train.bf16, device);
    if (done % c.checkpoint_every == 0 || done == end || out_of_time) save_checkpoint();
    if (out_of_time) {
      res.stopped_by_time_limit = true;
      note(events, fmt::format("time limit of {} min reached at step {}: checkpointed", c.time_limit_min, done));
      break;
    }
  }
  const double secs = clock.elapsed_s();
  res.steps_done = trainer.steps_done();
  res.images_per_s = (res.steps_done - res.start_step) * static_cast<double>(c.batch) / std::max(1e-9, secs);
  res.finished = res.steps_done >= total;
  if (!res.finished) return res;

  res.final_val_deviance = validation_deviance(trainer.ema(), cfg, data.val, c.batch, c.train.bf16, device);
  if (res.final_val_deviance >= 0) metrics.write({{"step", res.steps_done}, {"val_deviance", res.final_val_deviance}});
  write_sheet(trainer.ema(), cfg, data.val, cb, c.out, res.steps_done, c.train.bf16, device);
  json info = {{"format", kAutoencoderFormat},
               {"format_version", kAutoencoderFormatVersion},
               {"name", fs::path(c.out).filename().string()},
               {"created", utc_now_iso8601()},
               {"config", cfg.to_json()},
               {"parameters", trainer.ema()->parameter_count()},
               {"run", c.to_json()},
               {"data", data.summary},
               {"training",
                {{"steps_done", res.steps_done},
                 {"batch", c.batch},
                 {"final_loss", res.final_loss},
                 {"final_val_deviance", res.final_val_deviance >= 0 ? json(res.final_val_deviance) : json()},
                 {"seconds", secs},
                 {"images_per_s", res.images_per_s},
                 {"device", device.str()},
                 {"resumed_from_step", res.start_step}}},
               {"latent", latent_statistics(trainer.ema(), data.train, c.batch, c.train.bf16, device)}};
  if (c.resume && previous.contains("steps_changes")) info["training"]["steps_changes"] = previous["steps_changes"];
  json versions = core_versions();
  versions["libtorch"] = TORCH_VERSION;
  info["versions"] = versions;
  trainer.ema()->to(torch::kCPU);
  info["files"] = {{"ema.pt", save_weights(*trainer.ema(), c.out + "/ema.pt")}};
  write_file_atomic(info_path, info.dump(2) + "\n");  // last: the folder is complete once it exists
  return res;
}

AutoencoderFolder check_autoencoder_folder(const std::string& dir) {
  return load_autoencoder(dir);
}

LoadedAutoencoder load_autoencoder(const std::string& dir) {
  LoadedAutoencoder a;
  a.dir = dir;
  const std::string path = dir + "/autoencoder.json";
  if (!fs::is_directory(dir))
    throw InputError(dir, "is not a folder", "give a folder written by scintigen autoencoder train");
  if (!fs::exists(path))
    throw InputError(dir, "has no autoencoder.json: not a finished scintigen autoencoder",
                     "give a folder written by scintigen autoencoder train (written when the run finishes)");
  try {
    a.info = json::parse(read_file(path, 16 << 20));
  } catch (const json::exception& e) {
    throw InputError(path, std::string("is not valid JSON: ") + e.what(), "the file is truncated or corrupt");
  }
  if (!a.info.is_object() || a.info.value("format", "") != kAutoencoderFormat)
    throw InputError(
        path, "is not a scintigen autoencoder description (format is not '" + std::string(kAutoencoderFormat) + "')");
  if (a.info.value("format_version", 0) > kAutoencoderFormatVersion)
    throw InputError(path,
                     fmt::format("format version {} is newer than this scintigen reads ({})",
                                 a.info.value("format_version", 0), kAutoencoderFormatVersion),
                     "upgrade scintigen");
  if (!a.info.contains("config")) throw InputError(path, "has no config");
  try {
    a.config = AutoencoderConfig::from_json(a.info["config"], path);
  } catch (const ConfigError& e) {
    throw in_context<InputError>(e, path, "config: ");
  }
  a.sha256 = a.info.value("files", json::object()).value("ema.pt", "");
  if (a.sha256.empty()) throw InputError(path, "lists no SHA-256 for ema.pt", "the autoencoder folder is incomplete");
  a.net = Autoencoder(a.config);
  load_weights(*a.net, dir + "/ema.pt", a.sha256, "autoencoder.json");
  a.net->eval();
  for (auto& p : a.net->parameters()) p.set_requires_grad(false);
  return a;
}

LatentChannelStatistics recorded_latent_statistics(const LoadedAutoencoder& ae, const std::string& hint) {
  const std::string file = ae.dir + "/autoencoder.json";
  LatentChannelStatistics s;
  try {
    const json& l = ae.info.at("latent");
    s.mean = l.at("channel_mean").get<std::vector<double>>();
    s.std = l.at("channel_std").get<std::vector<double>>();
  } catch (const json::exception&) {
    throw InputError(file, "records no per-channel latent statistics (latent.channel_mean/std)",
                     "train the autoencoder again with this scintigen, or " + hint);
  }
  const size_t z = static_cast<size_t>(ae.config.latent_channels);
  if (s.mean.size() != z || s.std.size() != z)
    throw InputError(file, "its latent statistics do not have one value per latent channel",
                     "the folder is inconsistent");
  return s;
}

void ReconstructConfig::validate() const {
  if (autoencoder.empty()) throw ConfigError("autoencoder", "is empty", "give the autoencoder folder");
  if (data.empty()) throw ConfigError("--data", "is empty", "give the dataset to reconstruct");
  if (out.empty()) throw ConfigError("--out", "is empty", "give the dataset folder to create");
  if (counts != CountOutput::kPoisson && counts != CountOutput::kContinuous)
    throw ConfigError("--counts", to_string(counts),
                      "allowed: poisson (a camera's counts), continuous (the expectation)");
  if (batch < 1 || batch > 4096) throw ConfigError("--batch", std::to_string(batch), "must be in 1..4096");
  if (max_scans < 0) throw ConfigError("--max-scans", std::to_string(max_scans), "must be >= 0 (0 = all)");
  if (!(latent_noise >= 0 && latent_noise <= 10))
    throw ConfigError("--latent-noise", fmt::format("{}", latent_noise),
                      "must be in 0..10 (latent standard deviations)");
  run::parse_device_name(device);
}

json ReconstructConfig::to_json() const {
  json j = {{"autoencoder", autoencoder},  {"data", data},     {"out", out},
            {"counts", to_string(counts)}, {"seed", seed},     {"batch", batch},
            {"max_scans", max_scans},      {"device", device}, {"threads", threads}};
  if (latent_noise > 0) j["latent_noise"] = latent_noise;  // absent without noise (and in older records)
  return j;
}

// Separates --latent-noise's stream from the Poisson draws' (both from scan i's seed).
constexpr uint64_t kLatentNoiseStream = 0x1a7e27715eULL;

ReconstructResult reconstruct_dataset(const ReconstructConfig& config, EventSink* events) {
  config.validate();
  run::check_new_out_folder(config.out);
  at::set_num_threads(resolve_threads(config.threads));
  const torch::Device device = run::resolve_device(config.device);
  LoadedAutoencoder ae = load_autoencoder(config.autoencoder);
  ae.net->to(device);
  const AutoencoderConfig& cfg = ae.config;
  torch::Tensor channel_std;  // (1, Z, 1, 1), for --latent-noise
  if (config.latent_noise > 0) {
    const std::vector<double> sd = recorded_latent_statistics(ae, "leave --latent-noise out").std;
    channel_std = torch::tensor(std::vector<float>(sd.begin(), sd.end())).view({1, -1, 1, 1}).to(device);
  }
  Dataset in = Dataset::open(config.data);
  std::vector<ScanRecord> records;
  ReconstructResult res;
  res.out = config.out;
  res.autoencoder_sha256 = ae.sha256;
  for (const auto& r : in.records()) {
    if (r.views != ViewSet::kBoth) {
      ++res.skipped_single_view;
      continue;
    }
    if (config.max_scans > 0 && static_cast<int64_t>(records.size()) >= config.max_scans) break;
    records.push_back(r);
  }
  if (records.empty())
    throw InputError(config.data, "holds no two-view scan to reconstruct", "give a dataset of two-view scans");
  json made_by = {{"command", "autoencoder reconstruct"},
                  {"config", config.to_json()},
                  {"autoencoder_sha256", ae.sha256},
                  {"source_dataset_uid", in.info().value("dataset_uid", "")}};
  Dataset out = Dataset::create(config.out, made_by);
  Progress progress(events, "reconstruct", records.size());
  const int64_t H = cfg.height, W = cfg.width;
  double deviance = 0;
  for (size_t b0 = 0; b0 < records.size(); b0 += static_cast<size_t>(config.batch)) {
    const size_t b1 = std::min(records.size(), b0 + static_cast<size_t>(config.batch));
    const int64_t B = static_cast<int64_t>(b1 - b0);
    auto counts = torch::empty({B, 2, H, W}, torch::kFloat);
    std::vector<Scan> originals;
    for (size_t i = b0; i < b1; ++i) {
      originals.push_back(in.load(records[i]));
      const std::vector<float> px = scan_to_grid(originals.back(), static_cast<int>(H), static_cast<int>(W));
      std::copy(px.begin(), px.end(), counts.data_ptr<float>() + (i - b0) * 2 * H * W);
    }
    std::vector<uint64_t> seeds;
    for (size_t i = b0; i < b1; ++i) seeds.push_back(splitmix64(splitmix64(config.seed) ^ static_cast<uint64_t>(i)));
    torch::Tensor log_rate;
    if (config.latent_noise > 0) {
      torch::NoGradGuard g;
      auto z = ae.net->encode(counts_to_model(counts, cfg.transform).to(device)).first;  // (B, Z, h, w)
      std::vector<torch::Tensor> eps;
      for (uint64_t s : seeds) {
        auto gen = at::make_generator<at::CPUGeneratorImpl>(splitmix64(s ^ kLatentNoiseStream));
        eps.push_back(torch::randn({z.size(1), z.size(2), z.size(3)}, gen));
      }
      z = z + config.latent_noise * channel_std * torch::stack(eps).to(device);
      // Clamped at 1e6 counts a pixel, as a latent model's decoding: a far latent cannot overflow.
      log_rate = ae.net->decode(z).to(torch::kFloat).clamp_max(std::log(1e6)).cpu();
    } else {
      log_rate = reconstruct_log_rate(ae.net, counts_to_model(counts, cfg.transform), false, device).cpu();
    }
    deviance += poisson_deviance(log_rate, counts).item<double>() * B;
    auto expected = torch::exp(log_rate).contiguous();
    if (config.counts == CountOutput::kPoisson) draw_poisson_counts(expected, seeds);
    for (size_t i = b0; i < b1; ++i) {
      const Scan& o = originals[i - b0];
      Scan s = scan_from_counts(expected[static_cast<int64_t>(i - b0)], {}, ConditionSpec{});
      s.id = o.id;
      s.labels = o.labels;
      s.split = o.split;
      s.origin = Origin::kSynthetic;
      s.source = "autoencoder:" + ae.sha256.substr(0, 16) + " of " + o.id;
      s.meta = o.meta;
      s.meta["provenance"] = {{"autoencoder_sha256", ae.sha256},
                              {"reconstruction_of", o.id},
                              {"counts", to_string(config.counts)},
                              {"seed", seeds[i - b0]}};
      out.add(s);
    }
    out.commit();
    progress.advance(static_cast<uint64_t>(B));
  }
  progress.finish();
  out.log_event("autoencoder reconstruct", config.to_json());
  out.commit();
  res.scans = records.size();
  res.mean_deviance = deviance / static_cast<double>(records.size());
  return res;
}

}  // namespace scintigen::gen
