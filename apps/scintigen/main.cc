// scintigen: generative AI for whole-body bone scintigraphy. A thin main: the subcommand
// table below; every subcommand is a file of its own. SCINTIGEN_GPU_APP builds the GPU machines'
// subset (scripts/gpu/CMakeLists.txt: simulate, train, generate, model, autoencoder; no DICOM there).
#include <malloc.h>

#include <cstdio>
#include <exception>

#include "commands.h"
#include "run_guard.h"

int main(int argc, char** argv) {
  using namespace scintigen::cli;
  // Scans are megabytes each: keep freed blocks for reuse instead of returning them to the
  // kernel (glibc's default maps and unmaps every block over 128 KiB; the page faults and page
  // clearing took a third of ingest time).
  mallopt(M_MMAP_THRESHOLD, 512 << 20);
  mallopt(M_TRIM_THRESHOLD, 1024 << 20);
  static const std::vector<Command> kCommands = {
#ifndef SCINTIGEN_GPU_APP
      {"ingest", "read DICOM whole-body bone scans into a de-identified dataset", cmd_ingest},
#endif
      {"simulate", "simulate labelled whole-body bone scans from a site profile", cmd_simulate},
      {"train", "train the conditional generative model on datasets", cmd_train_model},
      {"generate", "generate labelled synthetic scans from a model (or the built-in one)", cmd_generate},
      {"model", "inspect a model; check that it obeys its conditions", cmd_model},
      {"autoencoder", "train and apply the count-image autoencoder of a latent diffusion model", cmd_autoencoder},
#ifndef SCINTIGEN_GPU_APP
      {"dataset", "inspect, verify, split, merge and export datasets", cmd_dataset},
      {"stats", "ROC/AUC with DeLong CIs, DeLong tests, survival, rater agreement", cmd_stats},
      {"classify", "train and evaluate metastasis / cardiac classifiers", cmd_classify},
      {"audit", "audit synthetic scans: fidelity, diversity, labels, memorisation, privacy", cmd_audit},
      {"reader", "blinded reader study in the browser: create, serve, report", cmd_reader},
      {"study", "does synthetic data help a small centre? the whole experiment from one config", cmd_study},
      {"demo", "the main job on the built-in default data, with pictures to look at", cmd_demo},
      {"version", "print the versions of scintigen and its libraries", cmd_version},
#endif
  };
#ifdef SCINTIGEN_GPU_APP
  static const char* kSummary = "generative AI for whole-body bone scintigraphy (GPU build: no DICOM, five commands)";
#else
  static const char* kSummary = "generative AI for whole-body bone scintigraphy";
#endif
  return run_guarded([&] { return dispatch("scintigen", kSummary, kCommands, argc, argv); });
}
