// The audit's feature space: an encoder that knows bone scans (`scintigen audit encoder`).
//
//   EncoderConfig c;  c.data = "real_other";  c.out = "enc";   // real scans with labels
//   EncoderResult r = train_encoder(c, &sink);                 // r.probes: held-out AUCs
//   Encoder e = load_encoder("enc");                           // checks every file's hash
//   Features f = encode_scans(e, scans);                       // (n, e.dim()) = (n, K + 4)
//
// What it is: supervised, on the labels, plus physics. One downstream classifier per task
// (src/clf: its training loop, balanced sampling, count augmentation with Poisson resampling,
// shifts and count scaling, early stopping on validation AUC) is trained on the encoder's data:
// a metastasis classifier and a cardiac-uptake (Perugini >= 2) classifier. A scan's feature
// vector is
//   [ z_1 .. z_K | s_1 .. s_4 ]
//   z: the concatenated penultimate embeddings of both classifiers (2 x 256 values with the
//      default network), standardised per dimension, projected on their K (default 32) largest
//      principal axes over the encoder's training scans, scaled so that the K variances average
//      1 (not whitened one by one: an odd scan far out along a weak axis would dominate);
//   s: the image statistics of audit/image_stats.h (log total counts, bone-to-soft-tissue ratio,
//      body length, high-frequency excess over Poisson), standardised by the training scans;
//   every value clipped to +-10 (a floor of 1% of the median sd under each embedding sd, so a
//   channel almost always dark in training cannot put a scan thousands of sds out).
// Why both: the classifiers are trained to ignore dose, counting noise and small shifts (their
// input is standardised per scan and augmented), so their embeddings cannot see a generator's
// errors in exactly those respects; the statistics can. Why K components: Fréchet distance and
// k-NN metrics on 512 dimensions with a few hundred scans measure mostly sampling noise (a
// real-vs-real baseline of 100 scans: FD 450, 95% CI 160-920). All values are stored, so every
// audit uses the same map. ImageNet features would be a poor fit for count images, and nothing
// can be downloaded here; a self-supervised (contrastive) encoder is not built (docs/AUDIT.md
// says why).
//
// Folder (docs/AUDIT.md "Encoder"):
//   encoder.json     format, version, config, members (task, folder, SHA-256 of best.pt), the
//                    feature map (grid, dim, mean, sd), its SHA-256, the linear probes, versions
//   metastasis/      a classifier folder (docs/CLASSIFY.md)
//   cardiac/         a classifier folder
//   ENCODER_CARD.md  for people: data, tasks, probe AUCs, what the features capture
//
// The encoder's identity (`sha256`, named by every feature-space number of an audit) is the
// SHA-256 of the canonical JSON of its feature map: the members' weight hashes, the grid, the
// standardisations and the principal axes. load_encoder recomputes it from the files.
//
// Linear probes show the features capture what matters: a ridge logistic regression
// (audit/linear.h) fitted on the features of the encoder's training scans scores held-out real
// scans (the dataset's "test" split, or --heldout): AUC with DeLong CI for metastasis and for
// Perugini >= 2. Held-out scans never train the classifiers (src/clf skips split "test").
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audit/features.h"
#include "audit/image_stats.h"
#include "core/progress.h"
#include "core/scan.h"

namespace scintigen::audit {

inline constexpr const char* kEncoderFormat = "scintigen-encoder";
inline constexpr int kEncoderFormatVersion = 1;

struct EncoderConfig {
  std::string data;     // dataset of real, labelled scans (its "test" split is held out)
  std::string heldout;  // optional dataset of held-out real scans for the probes
  std::string out;      // encoder folder to create (must not exist, or be empty)
  int epochs = 15;      // per classifier (early stopping on validation AUC, patience 5)
  int batch = 16;
  double lr = 1e-3;
  int threads = 0;
  uint64_t seed = 0;
  std::string device = "cpu";
  double probe_c = 1.0;  // inverse ridge strength of the linear probes (scikit-learn's C)
  int components = 32;   // principal components of the embedding kept as features

  void validate() const;  // throws ConfigError naming the flag
  nlohmann::json to_json() const;
};

struct EncoderResult {
  std::string out, sha256;
  size_t dim = 0;
  nlohmann::json probes;  // {"metastasis": AUC json, "perugini_ge2": AUC json} (or {"error"})
  nlohmann::json to_json() const;
};

// Trains both classifiers, fits the standardisation and the probes, writes the folder.
// Throws InputError (no labelled scans for a task, no held-out scans) or ConfigError.
EncoderResult train_encoder(const EncoderConfig& config, EventSink* events = nullptr);

// A loaded encoder. Opaque: the networks live in the .cc (no LibTorch here).
class Encoder {
 public:
  Encoder();
  Encoder(Encoder&&) noexcept;
  Encoder& operator=(Encoder&&) noexcept;
  ~Encoder();
  const std::string& dir() const;
  const std::string& sha256() const;
  const nlohmann::json& info() const;  // encoder.json
  size_t dim() const;
  int height() const;  // the networks' input grid (scans are resampled to it)
  int width() const;

  struct Impl;
  explicit Encoder(std::unique_ptr<Impl> impl);
  Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// Throws InputError naming the folder or file (not an encoder folder, a weights file whose
// SHA-256 differs from encoder.json, a changed feature map).
Encoder load_encoder(const std::string& dir, const std::string& device = "cpu", int threads = 0);

// Standardised features of the scans, one row per scan in order, `batch` scans at a time in
// eval mode without gradients. Reports progress to `events` under `task`.
Features encode_scans(const Encoder& encoder, const std::vector<Scan>& scans, int batch = 64,
                      EventSink* events = nullptr, const std::string& task = "encode");
// The same with the scans' image statistics already computed (scan_stats, one per scan, in
// order), for a caller that needs them anyway.
Features encode_scans(const Encoder& encoder, const std::vector<Scan>& scans, const std::vector<ScanStats>& stats,
                      int batch = 64, EventSink* events = nullptr, const std::string& task = "encode");

}  // namespace scintigen::audit
