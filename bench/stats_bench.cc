// Times delong_auc (AUC + DeLong variance + 95% CI) on a label,score CSV; the CSV parse is not
// timed. Prints one line of JSON: n, auc, ci, the median and best of --repeat runs in seconds.
//
//   stats_bench scores.csv [--repeat 5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fs_util.h"
#include "stats/roc.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: stats_bench scores.csv [--repeat N]\n");
    return 2;
  }
  int repeat = 5;
  if (argc >= 4 && !std::strcmp(argv[2], "--repeat")) repeat = std::max(1, std::atoi(argv[3]));
  try {
    const std::string text = scintigen::read_file(argv[1], 4ull << 30);
    std::vector<int> y;
    std::vector<double> s;
    const char* p = std::strchr(text.c_str(), '\n');  // skip the header
    while (p && *++p) {
      char* end;
      y.push_back(static_cast<int>(std::strtol(p, &end, 10)));
      s.push_back(std::strtod(end + 1, &end));
      p = std::strchr(end, '\n');
    }
    std::vector<double> secs;
    scintigen::stats::AucResult a;
    for (int r = 0; r < repeat; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      a = scintigen::stats::delong_auc(y, s);
      secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(secs.begin(), secs.end());
    std::printf(
        "{\"n\": %zu, \"auc\": %.17g, \"ci_lower\": %.17g, \"ci_upper\": %.17g, \"median_s\": %.6f, \"best_s\": "
        "%.6f}\n",
        y.size(), a.auc, a.ci_lower, a.ci_upper, secs[secs.size() / 2], secs.front());
  } catch (const scintigen::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.describe().c_str());
    return e.exit_code();
  }
  return 0;
}
