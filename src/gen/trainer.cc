#include "gen/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <cmath>

#include "core/error.h"
#include "core/splitmix.h"
#include "gen/objective.h"

namespace scintigen::gen {

void TrainConfig::validate() const {
  auto fail = [](const std::string& field, const std::string& what, const std::string& hint) {
    throw ConfigError("train config", field + ": " + what, hint);
  };
  if (steps < 1) fail("steps", std::to_string(steps), "must be >= 1");
  if (warmup_steps < 0 || warmup_steps > steps)
    fail("warmup_steps", std::to_string(warmup_steps), "must be in 0..steps");
  if (!(lr > 0) || lr > 1) fail("lr", std::to_string(lr), "must be in (0, 1]");
  if (min_lr_ratio < 0 || min_lr_ratio > 1) fail("min_lr_ratio", std::to_string(min_lr_ratio), "must be in 0..1");
  if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1) fail("beta1/beta2", "out of range", "must be in [0, 1)");
  if (!(eps > 0)) fail("eps", std::to_string(eps), "must be > 0");
  if (weight_decay < 0) fail("weight_decay", std::to_string(weight_decay), "must be >= 0");
  if (grad_clip < 0) fail("grad_clip", std::to_string(grad_clip), "must be >= 0 (0 = off)");
  if (ema_decay < 0 || ema_decay >= 1) fail("ema_decay", std::to_string(ema_decay), "must be in [0, 1)");
  if (cond_drop_prob < 0 || cond_drop_prob > 1)
    fail("cond_drop_prob", std::to_string(cond_drop_prob), "must be in 0..1");
  if (accum < 1 || accum > 1024) fail("accum", std::to_string(accum), "must be in 1..1024");
}

nlohmann::json TrainConfig::to_json() const {
  return {{"steps", steps},
          {"warmup_steps", warmup_steps},
          {"lr", lr},
          {"min_lr_ratio", min_lr_ratio},
          {"beta1", beta1},
          {"beta2", beta2},
          {"eps", eps},
          {"weight_decay", weight_decay},
          {"grad_clip", grad_clip},
          {"ema_decay", ema_decay},
          {"cond_drop_prob", cond_drop_prob},
          {"seed", seed},
          {"accum", accum},
          {"bf16", bf16}};
}

double learning_rate(const TrainConfig& c, int64_t step) {
  if (step < c.warmup_steps) return c.lr * static_cast<double>(step + 1) / c.warmup_steps;
  const double span = std::max<int64_t>(1, c.steps - c.warmup_steps);
  const double p = std::min(1.0, static_cast<double>(step - c.warmup_steps) / span);
  return c.lr * (c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + std::cos(M_PI * p)));
}

void ema_update(torch::nn::Module& ema, const torch::nn::Module& net, double decay) {
  torch::NoGradGuard no_grad;
  auto pe = ema.parameters();
  auto pn = net.parameters();
  for (size_t i = 0; i < pe.size(); ++i) pe[i].mul_(decay).add_(pn[i].detach(), 1 - decay);
}

uint64_t step_seed(uint64_t seed, int64_t step) {
  return splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(step));
}

Trainer::Trainer(const ModelConfig& model, const TrainConfig& train, torch::Device device)
    : model_cfg_(model), cfg_(train), schedule_(Schedule::from(model)), device_(device) {
  cfg_.validate();
  torch::manual_seed(cfg_.seed);  // weight initialisation
  net_ = UNet(model_cfg_);
  ema_ = UNet(model_cfg_);
  ema_update(ema_, net_, 0.0);  // copy
  for (auto& p : ema_->parameters()) p.set_requires_grad(false);
  net_->to(device_);
  ema_->to(device_);
  opt_ = make_adamw(net_->parameters(), cfg_);
}

double Trainer::step(const torch::Tensor& x0, const torch::Tensor& cond) {
  const int64_t B = x0.size(0);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(step_seed(cfg_.seed, step_));
  auto c = drop_conditions(cond.cpu(), cfg_.cond_drop_prob, gen);  // (B, A)
  auto t = torch::rand({B}, gen, torch::kFloat);                   // (B)
  auto noise = torch::randn(x0.sizes(), gen, torch::kFloat);       // (B, 2, H, W)
  return step(x0, c, t, noise);
}

double Trainer::step(const torch::Tensor& x0_in, const torch::Tensor& cond_in, const torch::Tensor& t_in,
                     const torch::Tensor& noise_in) {
  auto x0 = x0_in.to(device_), cond = cond_in.to(device_), t = t_in.to(device_), noise = noise_in.to(device_);
  return step_with(x0.size(0), [&](int64_t begin, int64_t end) {
    return v_loss(net_, schedule_, x0.slice(0, begin, end), cond.slice(0, begin, end), t.slice(0, begin, end),
                  noise.slice(0, begin, end));  // scalar, mean over the micro-batch
  });
}

double Trainer::step_toward(const torch::Tensor& x_t_in, const torch::Tensor& cond_in, const torch::Tensor& t_in,
                            const torch::Tensor& v_in) {
  auto x_t = x_t_in.to(device_), cond = cond_in.to(device_), t = t_in.to(device_), v = v_in.to(device_);
  return step_with(x_t.size(0), [&](int64_t begin, int64_t end) {
    return v_loss_toward(net_, x_t.slice(0, begin, end), cond.slice(0, begin, end), t.slice(0, begin, end),
                         v.slice(0, begin, end));
  });
}

double Trainer::step_with(int64_t B, const std::function<torch::Tensor(int64_t, int64_t)>& micro_loss) {
  net_->train();
  lr_ = learning_rate(cfg_, step_);
  for (auto& g : opt_->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr_);
  opt_->zero_grad();
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(cfg_.accum, B));
  double loss_sum = 0;
  int64_t begin = 0;
  for (int64_t k = 0; k < chunks; ++k) {
    const int64_t end = B * (k + 1) / chunks;  // micro-batches of near-equal size
    if (end <= begin) continue;
    torch::Tensor loss;
    {
      AutocastScope ac(cfg_.bf16, device_);
      loss = micro_loss(begin, end);  // scalar, mean over the micro-batch
    }
    const double w = static_cast<double>(end - begin) / B;
    (loss * w).backward();
    loss_sum += loss.item<double>() * w;
    begin = end;
  }
  if (reducer_) {
    std::vector<torch::Tensor> grads;
    for (auto& p : net_->parameters()) {
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      grads.push_back(p.grad());
    }
    reducer_(grads);
  }
  grad_norm_ = cfg_.grad_clip > 0 ? torch::nn::utils::clip_grad_norm_(net_->parameters(), cfg_.grad_clip) : 0.0;
  opt_->step();
  ++step_;
  const double n = static_cast<double>(step_);
  ema_update(ema_, net_, std::min(cfg_.ema_decay, (1 + n) / (10 + n)));
  return loss_sum;
}

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<torch::Tensor>& params, const TrainConfig& c) {
  return std::make_unique<torch::optim::AdamW>(
      params, torch::optim::AdamWOptions(c.lr).betas({c.beta1, c.beta2}).eps(c.eps).weight_decay(c.weight_decay));
}

void save_training_state(torch::serialize::OutputArchive& archive, const torch::nn::Module& net,
                         const torch::nn::Module& ema, const torch::optim::Optimizer& opt, int64_t step) {
  torch::serialize::OutputArchive n, e, o;
  net.save(n);
  ema.save(e);
  opt.save(o);
  archive.write("net", n);
  archive.write("ema", e);
  archive.write("optimizer", o);
  archive.write("step", torch::tensor(step, torch::kLong));
}

int64_t load_training_state(torch::serialize::InputArchive& archive, torch::nn::Module& net, torch::nn::Module& ema,
                            torch::optim::Optimizer& opt, const std::string& where, const std::string& what) {
  try {
    torch::serialize::InputArchive n, e, o;
    archive.read("net", n);
    archive.read("ema", e);
    archive.read("optimizer", o);
    net.load(n);
    ema.load(e);
    opt.load(o);
    torch::Tensor s;
    archive.read("step", s);
    return s.item<int64_t>();
  } catch (const c10::Error& err) {
    std::string msg = err.what_without_backtrace();
    throw InputError(where, "does not hold a training state of this " + what + ": " + msg.substr(0, 300),
                     "resume with the flags and model config that made it, or start a new --out");
  }
}

void Trainer::save(torch::serialize::OutputArchive& archive) const {
  save_training_state(archive, *net_, *ema_, *opt_, step_);
}

void Trainer::load(torch::serialize::InputArchive& archive, const std::string& where) {
  step_ = load_training_state(archive, *net_, *ema_, *opt_, where, "model");
  net_->to(device_);
  ema_->to(device_);
  for (auto& p : ema_->parameters()) p.set_requires_grad(false);
}

void Trainer::init_weights(UNet& weights, const std::string& where) {
  torch::NoGradGuard no_grad;
  auto src = weights->named_parameters(), dst = net_->named_parameters(), dst_ema = ema_->named_parameters();
  auto src_b = weights->named_buffers(), dst_b = net_->named_buffers(), dst_ema_b = ema_->named_buffers();
  if (src.size() != dst.size() || src_b.size() != dst_b.size())
    throw InputError(where, fmt::format("has {} parameters, this model {}", src.size(), dst.size()),
                     "start from a model of the same architecture");
  auto copy = [&](torch::OrderedDict<std::string, torch::Tensor>& to,
                  const torch::OrderedDict<std::string, torch::Tensor>& from) {
    for (const auto& item : from) {
      torch::Tensor* t = to.find(item.key());
      if (!t || !t->sizes().equals(item.value().sizes()))
        throw InputError(where, "parameter " + item.key() + " does not fit this model",
                         "start from a model of the same architecture");
      t->copy_(item.value().to(t->device()));
    }
  };
  copy(dst, src);
  copy(dst_ema, src);
  copy(dst_b, src_b);
  copy(dst_ema_b, src_b);
}

}  // namespace scintigen::gen
