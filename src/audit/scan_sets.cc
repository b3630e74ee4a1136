#include "audit/scan_sets.h"

#include <fmt/format.h>

#include "core/error.h"
#include "data/dataset.h"

namespace scintigen::audit {

std::string ScanSet::subject(size_t i) const {
  const Scan& s = scans.at(i);
  if (s.meta.is_object() && s.meta.contains("subject") && s.meta["subject"].is_string())
    return "subject:" + s.meta["subject"].get<std::string>();
  return "scan:" + dir + "/" + s.id;
}

std::vector<std::string> ScanSet::subjects() const {
  std::vector<std::string> out;
  out.reserve(scans.size());
  for (size_t i = 0; i < scans.size(); ++i) out.push_back(subject(i));
  return out;
}

int ScanSet::height() const {
  return scans.empty() ? 0 : scans.front().height;
}
int ScanSet::width() const {
  return scans.empty() ? 0 : scans.front().width;
}

ScanSet ScanSet::take_split(const std::string& name) {
  ScanSet taken;
  taken.dir = dir;
  taken.where = where;
  taken.info = info;
  std::vector<Scan> kept;
  for (auto& s : scans) (s.split == name ? taken.scans : kept).push_back(std::move(s));
  scans = std::move(kept);
  return taken;
}

void ScanSet::drop_split(const std::string& name) {
  take_split(name);
}

ScanSet ScanSet::subset(const std::vector<size_t>& idx) const {
  ScanSet out;
  out.dir = dir;
  out.where = where;
  out.info = info;
  out.scans.reserve(idx.size());
  for (size_t i : idx) out.scans.push_back(scans.at(i));
  return out;
}

nlohmann::json ScanSet::describe() const {
  return {{"dataset", dir},
          {"uid", info.contains("dataset_uid") ? info["dataset_uid"] : nlohmann::json()},
          {"scans", scans.size()},
          {"grid", {{"width", width()}, {"height", height()}}}};
}

ScanSet load_scan_set(const std::string& dir, const std::string& where) {
  ScanSet set;
  set.dir = dir;
  set.where = where;
  Dataset ds = [&] {
    try {
      return Dataset::open(dir);
    } catch (const Error& e) {
      throw in_context<InputError>(e, where);
    }
  }();
  set.info = ds.info();
  const auto records = ds.records();
  if (records.empty()) throw InputError(context_place(where, dir), "holds no scans", "give a dataset with scans");
  set.scans.reserve(records.size());
  for (const auto& r : records) {
    if (r.height != records.front().height || r.width != records.front().width)
      throw InputError(context_place(where, dir),
                       fmt::format("scans have different grids ({} is {} x {}, {} is {} x {})", records.front().id,
                                   records.front().width, records.front().height, r.id, r.width, r.height),
                       "resample them to one grid first (scintigen dataset resample --size)");
    set.scans.push_back(ds.load(r));
  }
  return set;
}

void check_same_grid(const std::vector<const ScanSet*>& sets) {
  const ScanSet* first = nullptr;
  for (const ScanSet* s : sets) {
    if (!s || s->scans.empty()) continue;
    if (!first) {
      first = s;
      continue;
    }
    if (s->height() != first->height() || s->width() != first->width())
      throw InputError(s->where,
                       fmt::format("its scans are {} x {} but {}'s are {} x {}", s->width(), s->height(), first->where,
                                   first->width(), first->height()),
                       "the audit compares scans on one grid: resample one set with scintigen dataset resample --size");
  }
}

}  // namespace scintigen::audit
