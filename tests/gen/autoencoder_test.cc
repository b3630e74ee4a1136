// The count-image autoencoder (src/gen/autoencoder*.h): its config, that training reduces the
// validation deviance, exact resume, refusals, the folder's checks, and reconstruction (labels
// kept, draws a function of the seed alone); and latent diffusion on it (train --autoencoder):
// the model's records, generation, exact resume, the membership score, refusals. The networks' arithmetic against
// PyTorch is in gen_reference_test.cc; the CLI in tests/cli/gen_cli_test.cc.
#include "gen/autoencoder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/fs_util.h"
#include "data/dataset.h"
#include "gen/autoencoder_train.h"
#include "gen/gen_data_fixture.h"
#include "gen/generate.h"
#include "gen/membership.h"
#include "gen/model_weights.h"
#include "gen/train_loop.h"
#include "gen/transform.h"
#include "run/run.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace scintigen::gen {
namespace {

using gen::testing::make_dataset;
using scintigen::testing::TempDir;

// A copy of the autoencoder folder `from` as `to` whose latent.channel_std is `std` (null: absent).
void copy_with_channel_std(const std::string& from, const std::string& to, const nlohmann::json& std) {
  if (!fs::exists(to)) fs::copy(from, to);
  nlohmann::json info = nlohmann::json::parse(read_file(from + "/autoencoder.json"));
  if (std.is_null())
    info["latent"].erase("channel_std");
  else
    info["latent"]["channel_std"] = std;
  write_file_atomic(to + "/autoencoder.json", info.dump(2));
}

// 2 x 64 x 16 scans -> 2 x 16 x 4 latents, a few thousand parameters: steps take milliseconds.
AutoencoderRunConfig micro_ae(const std::string& data, const std::string& out, int64_t steps) {
  AutoencoderRunConfig c;
  c.data.datasets = {data};
  c.data.val_fraction = 0.2;
  c.out = out;
  c.model.height = 64;
  c.model.width = 16;
  c.model.base_channels = 8;
  c.model.channel_mult = {1, 2, 2};
  c.model.latent_channels = 2;
  c.model.groups = 4;
  c.train.steps = steps;
  c.train.warmup_steps = 2;
  c.train.lr = 2e-3;
  c.train.seed = 5;
  c.batch = 4;
  c.log_every = 2;
  c.checkpoint_every = 3;
  c.val_every = 0;
  c.sample_every = 0;
  c.threads = 1;
  return c;
}

TEST(AutoencoderConfig, RoundTripsAndRefusesWhatCannotWork) {
  AutoencoderConfig a;
  a.latent_channels = 8;
  a.transform.count_max = 2100;
  const AutoencoderConfig b = AutoencoderConfig::from_json(a.to_json(), "x");
  EXPECT_EQ(b.to_json(), a.to_json());
  EXPECT_EQ(b.factor(), 4);
  EXPECT_EQ(b.latent_height(), 64);
  EXPECT_EQ(b.latent_width(), 16);
  auto expect_error = [](nlohmann::json j, const std::string& field) {
    try {
      AutoencoderConfig::from_json(j, "ae.json");
      ADD_FAILURE() << "accepted " << j.dump();
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  nlohmann::json j = a.to_json();
  j["latnet_channels"] = 4;
  expect_error(j, "latnet_channels");
  j = a.to_json();
  j["width"] = 66;  // not divisible by the factor 4
  expect_error(j, "height/width");
  j = a.to_json();
  j["groups"] = 5;
  expect_error(j, "groups");
  j = a.to_json();
  j["latent_channels"] = "four";
  expect_error(j, "latent_channels");
}

TEST(Autoencoder, TrainingReducesTheValidationDevianceAndRecordsTheLatentStatistics) {
  TempDir t;
  make_dataset(t / "ds", 24);
  AutoencoderRunConfig c = micro_ae(t / "ds", t / "ae", 60);
  c.val_every = 1;  // the deviance at step 1, nearly the starting weights
  AutoencoderRunResult r = run_autoencoder_training(c);
  ASSERT_TRUE(r.finished);
  double first = -1;
  std::ifstream m(t / "ae/metrics.jsonl");
  for (std::string line; std::getline(m, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("val_deviance") && first < 0) first = j["val_deviance"];
  }
  ASSERT_GT(first, 0);
  std::printf("validation deviance per pixel: step 1 %.3f, step 60 %.3f\n", first, r.final_val_deviance);
  // Poisson scans score about 1 per pixel under their own expectation; the starting decoder
  // (a flat image at the mean count) scores far above that on these shapes.
  EXPECT_LT(r.final_val_deviance, 0.5 * first);
  const LoadedAutoencoder ae = load_autoencoder(t / "ae");
  EXPECT_EQ(ae.info["latent"]["channel_std"].size(), 2u);
  EXPECT_GT(ae.info["latent"]["rms"].get<double>(), 0);
  EXPECT_GT(ae.config.transform.count_max, 0) << "fitted to the data";
  EXPECT_EQ(ae.info["data"]["train_scans"].get<int>() + ae.info["data"]["val_scans"].get<int>(), 24);
}

TEST(Autoencoder, ResumeAfterAStopEqualsAnUninterruptedRun) {
  TempDir t;
  make_dataset(t / "ds", 24);
  ASSERT_TRUE(run_autoencoder_training(micro_ae(t / "ds", t / "full", 8)).finished);
  AutoencoderRunConfig part = micro_ae(t / "ds", t / "part", 8);
  part.stop_at = 5;
  AutoencoderRunResult r1 = run_autoencoder_training(part);
  EXPECT_FALSE(r1.finished);
  EXPECT_EQ(run::find_checkpoint(t / "part")->state["step"], 5);
  EXPECT_FALSE(fs::exists(t / "part/autoencoder.json"));
  part.stop_at = 0;
  part.resume = true;
  AutoencoderRunResult r2 = run_autoencoder_training(part);
  EXPECT_TRUE(r2.finished);
  EXPECT_EQ(r2.start_step, 5);
  EXPECT_EQ(load_autoencoder(t / "full").sha256, load_autoencoder(t / "part").sha256)
      << "the resumed run's weights are the uninterrupted run's, bit for bit";
  // A resume must keep every setting but --steps.
  AutoencoderRunConfig changed = micro_ae(t / "ds", t / "part", 10);
  changed.resume = true;
  changed.kl_weight = 1e-3;
  try {
    run_autoencoder_training(changed);
    ADD_FAILURE() << "a changed kl_weight was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("kl_weight was 1e-06, now 0.001"), std::string::npos) << e.what();
  }
  // A new run into a used folder is refused.
  EXPECT_THROW(run_autoencoder_training(micro_ae(t / "ds", t / "part", 8)), InputError);
}

TEST(Autoencoder, TheAdversarialTermStartsWhenToldChangesTheWeightsAndResumesExactly) {
  TempDir t;
  make_dataset(t / "ds", 24);
  auto adversarial = [&](const std::string& out) {
    AutoencoderRunConfig c = micro_ae(t / "ds", out, 8);
    c.adversarial.weight = 0.5;
    c.adversarial.start = 3;
    c.adversarial.channels = 4;
    c.adversarial.layers = 2;  // 64 x 16 -> 14 x 2 patches
    return c;
  };
  ASSERT_TRUE(run_autoencoder_training(adversarial(t / "full")).finished);
  ASSERT_TRUE(run_autoencoder_training(micro_ae(t / "ds", t / "plain", 8)).finished);
  EXPECT_NE(load_autoencoder(t / "full").sha256, load_autoencoder(t / "plain").sha256) << "the term has an effect";
  EXPECT_FALSE(load_autoencoder(t / "plain").info["run"].contains("adversarial")) << "off: recorded as before";
  EXPECT_EQ(load_autoencoder(t / "full").info["run"]["adversarial"]["weight"], 0.5);

  // Before step 3 the term is off; after it, every value is finite and the discriminator learns.
  std::ifstream m(t / "full/metrics.jsonl");
  int before = 0, after = 0;
  for (std::string line; std::getline(m, line);) {
    auto j = nlohmann::json::parse(line);
    if (!j.contains("adversarial")) continue;
    const auto& a = j["adversarial"];
    if (j["step"].get<int>() <= 3) {
      EXPECT_EQ(a["adaptive_weight"], 0.0) << line;
      ++before;
    } else {
      EXPECT_GT(a["adaptive_weight"].get<double>(), 0) << line;
      EXPECT_TRUE(std::isfinite(a["generator"].get<double>())) << line;
      EXPECT_GT(a["discriminator"].get<double>(), 0) << line;  // the hinge loss of an imperfect discriminator
      ++after;
    }
  }
  EXPECT_EQ(before, 1);  // step 2
  EXPECT_EQ(after, 3);   // steps 4, 6, 8

  // Stopped after the term started (the discriminator and its optimiser in the checkpoint).
  AutoencoderRunConfig part = adversarial(t / "part");
  part.stop_at = 5;
  ASSERT_FALSE(run_autoencoder_training(part).finished);
  part.stop_at = 0;
  part.resume = true;
  ASSERT_TRUE(run_autoencoder_training(part).finished);
  EXPECT_EQ(load_autoencoder(t / "full").sha256, load_autoencoder(t / "part").sha256)
      << "the resumed run's weights are the uninterrupted run's, bit for bit";

  AutoencoderRunConfig changed = adversarial(t / "part");
  changed.train.steps = 10;
  changed.resume = true;
  changed.adversarial.weight = 1;
  try {
    run_autoencoder_training(changed);
    ADD_FAILURE() << "a changed adversarial weight was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("adversarial.weight was 0.5, now 1"), std::string::npos) << e.what();
  }
  AutoencoderRunConfig bad = adversarial(t / "bad");
  bad.adversarial.weight = -1;
  EXPECT_THROW(bad.validate(), ConfigError);
  bad = adversarial(t / "bad");
  bad.adversarial.layers = 3;  // 16 / 2^3 = 2 columns: no patches left
  try {
    bad.validate();
    ADD_FAILURE() << "3 discriminator layers on a 64 x 16 grid were accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--disc-layers"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(t / "bad"));
}

TEST(Autoencoder, AFolderThatIsIncompleteOrAlteredIsAClearError) {
  TempDir t;
  make_dataset(t / "ds", 24);
  ASSERT_TRUE(run_autoencoder_training(micro_ae(t / "ds", t / "ae", 2)).finished);
  auto message = [](const std::string& dir) {
    try {
      load_autoencoder(dir);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("(loaded)");
  };
  EXPECT_NE(message(t / "none").find("is not a folder"), std::string::npos);
  EXPECT_NE(message(t / "ds").find("has no autoencoder.json"), std::string::npos);
  fs::copy(t / "ae", t / "bad", fs::copy_options::recursive);
  std::string w = read_file(t / "bad/ema.pt");
  w[w.size() / 2] ^= 1;
  write_file_atomic(t / "bad/ema.pt", w);
  EXPECT_NE(message(t / "bad").find("ema.pt: SHA-256 differs from the one in autoencoder.json"), std::string::npos)
      << message(t / "bad");
  write_file_atomic(t / "bad/autoencoder.json", "{\"format\": \"scintigen-autoencoder\", \"config\": ");
  EXPECT_NE(message(t / "bad").find("is not valid JSON"), std::string::npos);
}

TEST(Reconstruct, KeepsIdsLabelsAndSplitsAndItsDrawsAreAFunctionOfTheSeed) {
  TempDir t;
  make_dataset(t / "ds", 10);
  ASSERT_TRUE(run_autoencoder_training(micro_ae(t / "ds", t / "ae", 4)).finished);
  auto run = [&](const std::string& out, uint64_t seed, int batch, CountOutput counts) {
    ReconstructConfig c;
    c.autoencoder = t / "ae";
    c.data = t / "ds";
    c.out = t / out;
    c.seed = seed;
    c.batch = batch;
    c.counts = counts;
    c.threads = 1;
    return reconstruct_dataset(c);
  };
  const ReconstructResult r = run("a", 1, 4, CountOutput::kPoisson);
  EXPECT_EQ(r.scans, 10u);
  EXPECT_GT(r.mean_deviance, 0);
  run("b", 1, 3, CountOutput::kPoisson);
  run("c", 2, 4, CountOutput::kPoisson);
  run("e", 1, 4, CountOutput::kContinuous);
  const Dataset src = Dataset::open(t / "ds"), a = Dataset::open(t / "a"), b = Dataset::open(t / "b"),
                c = Dataset::open(t / "c"), e = Dataset::open(t / "e");
  const auto ra = a.records(), rb = b.records(), rc = c.records();
  ASSERT_EQ(ra.size(), 10u);
  int differ = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    const ScanRecord s = *src.find(ra[i].id);
    EXPECT_EQ(ra[i].labels.metastasis, s.labels.metastasis);
    EXPECT_EQ(ra[i].labels.cardiac_grade, s.labels.cardiac_grade);
    EXPECT_EQ(ra[i].labels.tracer, s.labels.tracer);
    EXPECT_EQ(ra[i].origin, Origin::kSynthetic);
    EXPECT_EQ(ra[i].meta["provenance"]["reconstruction_of"], s.id);
    EXPECT_EQ(ra[i].pixel_sha256, rb[i].pixel_sha256) << "the batch size changes no draw";
    differ += ra[i].pixel_sha256 != rc[i].pixel_sha256;
    const Scan sa = a.load(ra[i]);
    for (float v : sa.pixels) ASSERT_EQ(v, std::round(v)) << "Poisson counts are integers";
  }
  EXPECT_EQ(differ, 10) << "another seed draws other counts";
  bool fractional = false;
  for (float v : e.load(e.records()[0]).pixels) fractional |= v != std::round(v);
  EXPECT_TRUE(fractional) << "--counts continuous writes the expectation itself";
  EXPECT_THROW(run("a", 1, 4, CountOutput::kPoisson), InputError) << "an existing --out is refused";
}

// --latent-noise: the decoder's input perturbed by a draw that depends on the seed and the scan
// alone, recorded in the provenance; refused where it cannot work.
TEST(Reconstruct, LatentNoiseIsAFunctionOfSeedAndScanAndMovesTheReconstructions) {
  TempDir t;
  make_dataset(t / "ds", 10);
  ASSERT_TRUE(run_autoencoder_training(micro_ae(t / "ds", t / "ae", 6)).finished);
  auto run = [&](const std::string& ae, const std::string& out, uint64_t seed, int batch, double noise,
                 CountOutput counts = CountOutput::kContinuous) {
    ReconstructConfig c;
    c.autoencoder = t / ae;
    c.data = t / "ds";
    c.out = t / out;
    c.seed = seed;
    c.batch = batch;
    c.counts = counts;
    c.latent_noise = noise;
    c.threads = 1;
    return reconstruct_dataset(c);
  };
  const ReconstructResult none = run("ae", "none", 1, 4, 0), noisy = run("ae", "n4", 1, 4, 2.0);
  run("ae", "s2", 2, 4, 2.0);
  run("ae", "p4", 1, 4, 2.0, CountOutput::kPoisson);  // integer draws: the batch's float rounding cannot show
  run("ae", "p3", 1, 3, 2.0, CountOutput::kPoisson);
  EXPECT_GT(noisy.mean_deviance, none.mean_deviance) << "a perturbed latent explains the scans worse";
  const auto r0 = Dataset::open(t / "none").records(), r4 = Dataset::open(t / "n4").records(),
             rs = Dataset::open(t / "s2").records(), p4 = Dataset::open(t / "p4").records(),
             p3 = Dataset::open(t / "p3").records();
  ASSERT_EQ(r4.size(), 10u);
  for (size_t i = 0; i < r4.size(); ++i) {
    EXPECT_EQ(p4[i].pixel_sha256, p3[i].pixel_sha256) << "the batch changes no draw";
    EXPECT_NE(r4[i].pixel_sha256, r0[i].pixel_sha256) << "the noise moves every reconstruction";
    EXPECT_NE(r4[i].pixel_sha256, rs[i].pixel_sha256) << "another seed, another draw";
  }
  EXPECT_EQ(Dataset::open(t / "n4").info()["config"]["config"]["latent_noise"], 2.0);
  EXPECT_FALSE(Dataset::open(t / "none").info()["config"]["config"].contains("latent_noise"));
  EXPECT_THROW(run("ae", "neg", 1, 4, -0.5), ConfigError);
  copy_with_channel_std(t / "ae", t / "ae_nostats", nullptr);
  try {
    run("ae_nostats", "nostats", 1, 4, 0.5);
    ADD_FAILURE() << "an autoencoder without latent statistics was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("records no per-channel latent statistics"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(t / "nostats/manifest.db")) << "nothing written";
}

// A latent diffusion model on a micro autoencoder: 2 x 64 x 16 scans, 2 x 16 x 4 latents.
TEST(LatentModel, TrainsOnTheLatentsGeneratesScansAndResumesExactly) {
  TempDir t;
  make_dataset(t / "ds", 24);
  ASSERT_TRUE(run_autoencoder_training(micro_ae(t / "ds", t / "ae", 6)).finished);
  const LoadedAutoencoder ae = load_autoencoder(t / "ae");
  TrainRunConfig c = gen::testing::micro_run(t.path(), t / "ds", t / "m", 6);
  c.autoencoder = t / "ae";
  ASSERT_TRUE(run_training(c).finished);
  const LoadedModel m = load_model(t / "m");
  EXPECT_TRUE(m.config.latent.enabled());
  EXPECT_EQ(m.config.latent.channels, 2);
  EXPECT_EQ(m.config.latent.factor, 4);
  EXPECT_DOUBLE_EQ(m.config.latent.scale, ae.info["latent"]["rms"].get<double>());
  EXPECT_EQ(m.config.transform.count_max, ae.config.transform.count_max);
  EXPECT_EQ(m.config.transform.target, ModelTarget::kExpected);
  ASSERT_TRUE(m.decoder) << "the model folder carries its autoencoder";
  EXPECT_EQ(m.info["autoencoder"]["sha256"], ae.sha256);
  EXPECT_EQ(m.info["files"]["autoencoder.pt"], ae.sha256) << "the same weights, saved again";
  EXPECT_NE(read_file(t / "m/MODEL_CARD.md").find("latent diffusion"), std::string::npos);

  // generate: scans at the autoencoder's grid, Poisson counts, a function of the seed alone
  GenerateConfig g = gen::testing::micro_generate(t / "m", 3, "metastasis=1", 3);
  g.out = t / "g1";
  generate_dataset(g);
  g.out = t / "g2";
  g.batch = 1;
  generate_dataset(g);
  const Dataset g1 = Dataset::open(t / "g1"), g2 = Dataset::open(t / "g2");
  ASSERT_EQ(g1.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const ScanRecord r = g1.records()[i];
    EXPECT_EQ(r.height, 64);
    EXPECT_EQ(r.width, 16);
    EXPECT_EQ(r.dtype, PixelDtype::kUint16) << "Poisson counts";
    EXPECT_EQ(r.meta["provenance"]["counts"], "poisson");
    EXPECT_EQ(r.pixel_sha256, g2.records()[i].pixel_sha256) << "the batch changes no scan";
  }

  // exact resume
  TrainRunConfig part = gen::testing::micro_run(t.path(), t / "ds", t / "p", 6);
  part.autoencoder = t / "ae";
  part.stop_at = 4;
  EXPECT_FALSE(run_training(part).finished);
  part.stop_at = 0;
  part.resume = true;
  ASSERT_TRUE(run_training(part).finished);
  EXPECT_EQ(load_model(t / "p").ema_sha256, m.ema_sha256) << "stop + resume = an uninterrupted run";

  // the membership score encodes the scans as training did
  DenoisingLossConfig dl;
  dl.model = t / "m";
  dl.threads = 1;
  std::vector<Scan> scans;
  const Dataset ds = Dataset::open(t / "ds");
  for (int i = 0; i < 3; ++i) scans.push_back(ds.load(ds.records()[i]));
  const DenoisingLosses l = denoising_losses(dl, scans);
  for (double v : l.loss) EXPECT_TRUE(std::isfinite(v) && v > 0) << v;

  // a fine-tune keeps the latent space
  TrainRunConfig ft = gen::testing::micro_run(t.path(), t / "ds", t / "ft", 2);
  ft.preset.clear();
  ft.init_from = t / "m";
  ASSERT_TRUE(run_training(ft).finished);
  EXPECT_EQ(load_model(t / "ft").info["files"]["autoencoder.pt"], ae.sha256);
}

// --latent-norm channel: each latent channel standardised by the autoencoder's recorded mean and
// std; the same latent means decode to the same counts as under one global scale.
TEST(LatentModel, PerChannelStandardisationUsesTheRecordedStatisticsAndDecodesAsTheGlobalScale) {
  TempDir t;
  make_dataset(t / "ds", 24);
  ASSERT_TRUE(run_autoencoder_training(micro_ae(t / "ds", t / "ae", 6)).finished);
  const LoadedAutoencoder ae = load_autoencoder(t / "ae");
  TrainRunConfig c = gen::testing::micro_run(t.path(), t / "ds", t / "g", 2);
  c.autoencoder = t / "ae";
  ASSERT_TRUE(run_training(c).finished);
  c.out = t / "c";
  c.latent_norm = "channel";
  ASSERT_TRUE(run_training(c).finished);
  const LoadedModel mg = load_model(t / "g"), mc = load_model(t / "c");
  ASSERT_FALSE(mg.config.latent.per_channel());
  ASSERT_TRUE(mc.config.latent.per_channel());
  EXPECT_FALSE(mg.config.to_json()["latent"].contains("channel_mean")) << "a global model's config is as before";
  const std::vector<double> mean = ae.info["latent"]["channel_mean"], sd = ae.info["latent"]["channel_std"];
  EXPECT_EQ(mc.config.latent.channel_mean, mean);
  EXPECT_EQ(mc.config.latent.channel_std, sd);
  EXPECT_EQ(nlohmann::json::parse(read_file(t / "c/run.json"))["config"]["latent_norm"], "channel");

  torch::manual_seed(3);
  const auto counts = torch::poisson(torch::full({3, 2, 64, 16}, 20.0f));  // (3, 2, H, W)
  const auto x = counts_to_model(counts, mc.config.transform);
  torch::Tensor z;
  {
    torch::NoGradGuard g;
    Autoencoder ae_c = mc.decoder;
    ae_c->eval();
    z = ae_c->encode(x).first;  // (3, 2, 16, 4), the latent means
  }
  const auto zc = to_diffusion_space(x, mc.config, mc.decoder), zg = to_diffusion_space(x, mg.config, mg.decoder);
  for (int ch = 0; ch < 2; ++ch) {
    const auto want = (z.select(1, ch) - mean[ch]) / sd[ch];
    EXPECT_TRUE(torch::allclose(zc.select(1, ch), want, 1e-5, 1e-5)) << "channel " << ch;
  }
  EXPECT_TRUE(torch::allclose(zg, z / mg.config.latent.scale, 1e-6, 1e-6));
  const auto back_c = diffusion_to_counts(zc, mc.config, mc.decoder, CountOutput::kContinuous);
  const auto back_g = diffusion_to_counts(zg, mg.config, mg.decoder, CountOutput::kContinuous);
  EXPECT_TRUE(torch::allclose(back_c, back_g, 1e-4, 1e-3)) << (back_c - back_g).abs().max().item<float>();

  GenerateConfig gc = gen::testing::micro_generate(t / "c", 2, "metastasis=1", 3);
  gc.out = t / "gen";
  generate_dataset(gc);
  EXPECT_EQ(Dataset::open(t / "gen").size(), 2u);
}

TEST(LatentModel, RefusesWhatCannotWorkAndAnAlteredAutoencoder) {
  TempDir t;
  make_dataset(t / "ds", 24);
  ASSERT_TRUE(run_autoencoder_training(micro_ae(t / "ds", t / "ae", 2)).finished);
  auto refused = [&](TrainRunConfig c, const std::string& says) {
    try {
      run_training(c);
      ADD_FAILURE() << "accepted: " << says;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(c.out + "/model.json"));
  };
  TrainRunConfig c = gen::testing::micro_run(t.path(), t / "ds", t / "x", 2);
  c.autoencoder = t / "ae";
  c.preset = "tiny";  // 32 x 128, the autoencoder 16 x 64
  refused(c, "'tiny' is a 32 x 128 (W x H) model");
  c = gen::testing::micro_run(t.path(), t / "ds", t / "y", 2);
  c.autoencoder = t / "ae";
  c.count_max = 7;
  refused(c, "--count-max");
  c = gen::testing::micro_run(t.path(), t / "ds", t / "z", 2);
  c.autoencoder = t / "ae";
  c.init_from = t / "ae";
  refused(c, "--autoencoder: given with --init-from");
  c = gen::testing::micro_run(t.path(), t / "ds", t / "n", 2);
  c.autoencoder = t / "ae";
  c.latent_norm = "pixel";
  refused(c, "--latent-norm: 'pixel'");
  c.autoencoder.clear();
  c.latent_norm = "channel";
  refused(c, "--latent-norm: channel without --autoencoder");
  c.autoencoder = t / "ae_nostats";  // an autoencoder.json without, or with broken, per-channel statistics
  copy_with_channel_std(t / "ae", c.autoencoder, nullptr);
  refused(c, "records no per-channel latent statistics");
  copy_with_channel_std(t / "ae", c.autoencoder, {1.0, 0.0});
  refused(c, "a latent channel's std is 0");
  copy_with_channel_std(t / "ae", c.autoencoder, {1.0});
  refused(c, "do not have one value per latent channel");

  c = gen::testing::micro_run(t.path(), t / "ds", t / "m", 2);
  c.autoencoder = t / "ae";
  ASSERT_TRUE(run_training(c).finished);
  std::string w = read_file(t / "m/autoencoder.pt");
  w[w.size() / 2] ^= 1;
  write_file_atomic(t / "m/autoencoder.pt", w);
  try {
    load_model(t / "m");
    ADD_FAILURE() << "an altered autoencoder.pt was loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("autoencoder.pt: SHA-256 differs from the one in model.json"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace scintigen::gen
