// `reader create` (see study.h): case selection matched on labels, server-side rendering of
// every view, tokens, reading orders, and the study database.

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"
#include "core/labels.h"
#include "core/random_streams.h"
#include "core/resample.h"
#include "core/shuffle.h"
#include "core/text.h"
#include "core/version.h"
#include "data/dataset.h"
#include "io/png.h"
#include "reader/store.h"
#include "reader/study.h"

namespace scintigen::reader {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxCases = 10000;
constexpr size_t kMaxReaders = 100;

bool valid_reader_name(const std::string& s) {
  if (s.empty() || s.size() > 32) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

// `bytes` bytes from OpenSSL's cryptographic generator, as lower-case hex.
std::string random_hex(size_t bytes) {
  std::vector<unsigned char> b(bytes);
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1)
    throw InternalError("reader create", "the system's random generator failed", "is /dev/urandom readable?");
  std::string out;
  for (unsigned char c : b) out += fmt::format("{:02x}", c);
  return out;
}

// The value of each --match label of a scan, "?" when missing, joined: the stratum.
std::string stratum_key(const Labels& labels, const std::vector<std::string>& match) {
  std::string key;
  for (const auto& name : match) {
    std::string v = label_value(labels, name);
    if (v.empty()) v = "?";
    if (!key.empty()) key += ",";
    key += name + "=" + v;
  }
  return key;
}

struct Stratum {
  std::vector<size_t> real, synthetic;  // indices into the datasets' records
  size_t chosen = 0;                    // matched pairs taken
};

// Pairs per stratum: as close to the real set's own proportions as the strata's capacities
// (min(real, synthetic)) allow: the floor of each share, then one at a time to the stratum
// furthest below its share that has room left (ties to the first key in byte order).
void allocate_pairs(std::map<std::string, Stratum>& strata, size_t pairs, size_t real_total, const std::string& where) {
  size_t capacity = 0;
  for (auto& [key, s] : strata) capacity += std::min(s.real.size(), s.synthetic.size());
  if (capacity < pairs)
    throw InputError(
        where,
        fmt::format("only {} matched real/synthetic pairs exist, {} needed for --n {}", capacity, pairs, 2 * pairs),
        "lower --n, match on fewer labels (--match), or generate synthetic scans of the real set's "
        "conditions");
  std::map<std::string, double> share;
  size_t taken = 0;
  for (auto& [key, s] : strata) {
    share[key] = static_cast<double>(pairs) * static_cast<double>(s.real.size()) / static_cast<double>(real_total);
    s.chosen = std::min({static_cast<size_t>(std::floor(share[key])), s.real.size(), s.synthetic.size()});
    taken += s.chosen;
  }
  while (taken < pairs) {
    std::string best;
    double best_gap = -1e300;
    for (auto& [key, s] : strata) {
      if (s.chosen >= std::min(s.real.size(), s.synthetic.size())) continue;
      const double gap = share[key] - static_cast<double>(s.chosen);
      if (gap > best_gap) {
        best_gap = gap;
        best = key;
      }
    }
    ++strata[best].chosen;
    ++taken;
  }
}

// The 8-bit square-root code of one view (docs/READER.md "Images"): round(255 sqrt(x / m)).
std::string render_view(const float* counts, int height, int width, double m) {
  std::vector<uint8_t> px(static_cast<size_t>(height) * width);
  for (size_t i = 0; i < px.size(); ++i) {
    const double x = std::max(0.0, static_cast<double>(counts[i]));
    px[i] = m > 0 ? static_cast<uint8_t>(std::lround(std::min(255.0, 255.0 * std::sqrt(x / m)))) : 0;
  }
  return encode_png_gray8_stored(width, height, px.data());
}

// The most common grid of a dataset's scans, and whether all share it.
std::pair<std::pair<int, int>, bool> common_grid(const std::vector<ScanRecord>& records) {
  std::map<std::pair<int, int>, size_t> grids;
  for (const auto& r : records) ++grids[{r.height, r.width}];
  auto best =
      std::max_element(grids.begin(), grids.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  return {best->first, grids.size() == 1};
}

void write_tokens_file(const std::string& path, const std::vector<ReaderToken>& tokens) {
  // Created with mode 0600 from the start (O_EXCL: never an existing file), so the secrets are
  // never readable by others, not even for a moment.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw InputError(path, std::string("cannot create: ") + std::strerror(errno));
  std::string text =
      "# scintigen reader study tokens: <reader> <role> <token>. Give each reader their own line only;\n"
      "# the study keeps only their SHA-256, so a lost token cannot be recovered.\n";
  for (const auto& t : tokens) text += t.reader + " " + t.role + " " + t.token + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw InternalError(path, "cannot write the tokens", "is the disk full?");
}

}  // namespace

bool task_has_realness(const std::string& task) {
  return task == "realness" || task == "both";
}

bool task_has_diagnosis(const std::string& task) {
  return task == "diagnosis" || task == "both";
}

void CreateConfig::validate() const {
  if (real.empty()) throw ConfigError("--real", "is required", "a dataset of real (or simulator) scans");
  if (synthetic.empty()) throw ConfigError("--synthetic", "is required", "a dataset of synthetic scans");
  if (out.empty()) throw ConfigError("--out", "is required", "the study folder to create");
  if (n < 2 || n % 2 != 0 || n > kMaxCases)
    throw ConfigError("--n", fmt::format("must be an even number from 2 to {}, got {}", kMaxCases, n),
                      "half the cases are real, half synthetic");
  if (readers.empty()) throw ConfigError("--readers", "names no reader", "e.g. --readers \"a,b,c,d\"");
  if (readers.size() > kMaxReaders)
    throw ConfigError("--readers", fmt::format("names {} readers, at most {}", readers.size(), kMaxReaders));
  std::set<std::string> seen;
  for (const auto& r : readers) {
    if (!valid_reader_name(r))
      throw ConfigError("--readers", fmt::format("'{}' is not a valid reader name", r),
                        "use 1 to 32 of A-Z a-z 0-9 _ . -");
    if (r == "coordinator") throw ConfigError("--readers", "'coordinator' is reserved", "name the readers otherwise");
    if (!seen.insert(r).second) throw ConfigError("--readers", fmt::format("'{}' is named twice", r));
  }
  if (task != "realness" && task != "diagnosis" && task != "both")
    throw ConfigError("--task", fmt::format("'{}' is not a task", task), "use realness, diagnosis or both");
  for (const auto& m : match)
    if (!is_label_field(m))
      throw ConfigError("--match", fmt::format("'{}' is not a label", m),
                        "use label names such as metastasis, cardiac_grade, tracer, sex");
  if (!(margin > 0 && margin < 0.5))
    throw ConfigError("--margin", fmt::format("must be in (0, 0.5), got {}", margin),
                      "the equivalence margin of accuracy around 0.5, e.g. 0.15");
  if ((height == 0) != (width == 0) || height < 0 || width < 0 || height > 4096 || width > 4096)
    throw ConfigError("--grid", fmt::format("{} x {} is not a display grid", height, width),
                      "give it as WIDTHxHEIGHT, e.g. --grid 64x256");
}

nlohmann::json CreateConfig::to_json() const {
  return {{"real", real},       {"synthetic", synthetic}, {"out", out},     {"n", n},
          {"readers", readers}, {"task", task},           {"match", match}, {"margin", margin},
          {"seed", seed},       {"height", height},       {"width", width}};
}

CreateResult create_study(const CreateConfig& config, EventSink* sink) {
  config.validate();
  const Dataset real = Dataset::open(config.real);
  const Dataset syn = Dataset::open(config.synthetic);
  const std::vector<ScanRecord> real_records = real.records(), syn_records = syn.records();
  if (real_records.empty()) throw InputError(config.real, "holds no scans", "");
  if (syn_records.empty()) throw InputError(config.synthetic, "holds no scans", "");

  int height = config.height, width = config.width;
  if (height == 0) {
    const auto [grid, uniform] = common_grid(real_records);
    if (!uniform)
      throw InputError(config.real, "its scans have more than one grid",
                       "choose the display grid with --grid HxW (both origins are resampled to it)");
    height = grid.first;
    width = grid.second;
  }
  for (const auto* set : {&real_records, &syn_records}) {
    const auto [grid, uniform] = common_grid(*set);
    if (!uniform || grid != std::make_pair(height, width))
      note(sink, fmt::format("warning: {} scans are resampled to the display grid {} x {}; resampling can itself "
                             "tell origins apart (docs/READER.md)",
                             set == &real_records ? "real" : "synthetic", height, width));
  }

  // Strata by the --match labels; the real and synthetic scans of each, in dataset order.
  std::map<std::string, Stratum> strata;
  for (size_t i = 0; i < real_records.size(); ++i)
    strata[stratum_key(real_records[i].labels, config.match)].real.push_back(i);
  for (size_t i = 0; i < syn_records.size(); ++i) {
    const std::string key = stratum_key(syn_records[i].labels, config.match);
    if (strata.count(key)) strata[key].synthetic.push_back(i);
  }
  const size_t pairs = config.n / 2;
  allocate_pairs(strata, pairs, real_records.size(), config.real + " and " + config.synthetic);

  // Which scans of each stratum: a seeded shuffle of each side (index = the stratum's key).
  struct Chosen {
    bool synthetic;
    size_t record;
  };
  std::vector<Chosen> chosen;
  nlohmann::json balance = nlohmann::json::array();
  for (auto& [key, s] : strata) {
    balance.push_back({{"key", key},
                       {"real_available", s.real.size()},
                       {"synthetic_available", s.synthetic.size()},
                       {"chosen", s.chosen}});
    if (s.chosen == 0) continue;
    Rng r_real = stream_rng(config.seed, RandomStream::kReaderSelect, fnv1a64("real:" + key));
    Rng r_syn = stream_rng(config.seed, RandomStream::kReaderSelect, fnv1a64("synthetic:" + key));
    shuffle(s.real.begin(), s.real.end(), r_real);
    shuffle(s.synthetic.begin(), s.synthetic.end(), r_syn);
    for (size_t k = 0; k < s.chosen; ++k) chosen.push_back({false, s.real[k]});
    for (size_t k = 0; k < s.chosen; ++k) chosen.push_back({true, s.synthetic[k]});
  }
  std::stable_sort(chosen.begin(), chosen.end(),
                   [](const Chosen& a, const Chosen& b) { return a.synthetic < b.synthetic; });

  // The study folder: new or empty; removed again if anything below fails.
  if (fs::exists(config.out) && !(fs::is_directory(config.out) && fs::is_empty(config.out)))
    throw InputError(config.out, "already exists and is not empty", "reader create makes a new study folder");
  const bool made_folder = !fs::exists(config.out);
  fs::create_directories(config.out);
  CreateResult result;
  try {
    nlohmann::json meta = {{"format", kStudyFormat},
                           {"format_version", kStudyFormatVersion},
                           {"config", config.to_json()},
                           {"created", utc_now_iso8601()},
                           {"grid", {{"height", height}, {"width", width}}},
                           {"real_dataset", real.info().value("config", nlohmann::json::object())},
                           {"synthetic_dataset", syn.info().value("config", nlohmann::json::object())},
                           {"versions", core_versions()}};
    StudyStore store = StudyStore::create(config.out, meta);
    store.begin();
    std::vector<std::string> case_ids;
    std::set<std::string> unique_ids;
    Progress progress(sink, "rendering cases", chosen.size());
    for (size_t i = 0; i < chosen.size(); ++i) {
      const Dataset& ds = chosen[i].synthetic ? syn : real;
      const ScanRecord& rec = (chosen[i].synthetic ? syn_records : real_records)[chosen[i].record];
      const Scan scan = ds.load(rec);
      const std::vector<float> px = scan_to_grid(scan, height, width);
      const size_t view = static_cast<size_t>(height) * width;
      const double m = px.empty() ? 0.0 : *std::max_element(px.begin(), px.end());
      std::string id;
      do id = random_hex(8);
      while (!unique_ids.insert(id).second);
      StudyCase c;
      c.case_id = id;
      c.index = i;
      c.origin = chosen[i].synthetic ? "synthetic" : "real";
      c.dataset = chosen[i].synthetic ? config.synthetic : config.real;
      c.scan_id = rec.id;
      c.labels = rec.labels;
      store.add_case(c, render_view(px.data(), height, width, m), render_view(px.data() + view, height, width, m));
      case_ids.push_back(id);
      progress.advance();
    }
    for (size_t r = 0; r < config.readers.size(); ++r) {
      Rng rng = stream_rng(config.seed, RandomStream::kReaderOrder, r);
      std::vector<std::string> order = case_ids;
      shuffle(order.begin(), order.end(), rng);
      ReaderToken t{config.readers[r], "reader", "r_" + random_hex(32)};
      store.add_reader(t.reader, t.role, token_hash(t.token), order);
      result.tokens.push_back(std::move(t));
    }
    ReaderToken coordinator{"coordinator", "coordinator", "c_" + random_hex(32)};
    store.add_reader(coordinator.reader, coordinator.role, token_hash(coordinator.token), {});
    result.tokens.push_back(std::move(coordinator));
    progress.finish();
    store.log_event("", "created", {{"cases", chosen.size()}, {"readers", config.readers}});
    result.tokens_file = (fs::path(config.out) / "tokens.txt").string();
    write_tokens_file(result.tokens_file, result.tokens);
    store.commit();
  } catch (...) {
    std::error_code ec;
    if (made_folder)
      fs::remove_all(config.out, ec);
    else
      for (const auto& e : fs::directory_iterator(config.out, ec)) fs::remove_all(e.path(), ec);
    throw;
  }
  result.out = config.out;
  result.n = chosen.size();
  result.balance = std::move(balance);
  return result;
}

}  // namespace scintigen::reader
