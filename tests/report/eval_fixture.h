// A real `classify eval` run through the binary, for the CLI and browser tests: blob scans at two
// sites with outcomes (tests/clf/clf_fixtures.h), two tiny classifiers trained for one epoch
// (a few seconds on 2 cores), so the report has per-site rows, a comparison and survival.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "clf/clf_fixtures.h"
#include "test_util.h"

namespace scintigen::report::testing {

// Fills `t` with data/ (40 labelled blob scans), clf/ and clf2/ (seeds 1 and 2).
inline void train_tiny_classifiers(const scintigen::testing::TempDir& t) {
  clf::testing::BlobDatasetSpec spec;
  spec.n = 40;
  clf::testing::make_blob_dataset(t / "data", spec);
  for (const char* seed : {"1", "2"}) {
    const std::string out = t / (seed[0] == '1' ? "clf" : "clf2");
    const auto r = scintigen::testing::run_command(
        scintigen::testing::scintigen_binary() + " classify train --task metastasis --train " + (t / "data") +
        " --out " + out + " --epochs 1 --height 64 --width 16 --base-width 8 --batch 8 --threads 2 --quiet --seed " +
        seed);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
}

// `classify eval` of clf against clf2 on data/ with `flags` appended (the report: --out).
inline scintigen::testing::CommandResult run_eval(const scintigen::testing::TempDir& t, const std::string& flags) {
  return scintigen::testing::run_command(scintigen::testing::scintigen_binary() + " classify eval --model " +
                                         (t / "clf") + " --compare " + (t / "clf2") + " --data " + (t / "data") +
                                         " --threads 2 --quiet " + flags);
}

}  // namespace scintigen::report::testing
