// Every header that callers of src/gen, src/clf and src/run include (CMakeLists.txt here): none
// may bring LibTorch, so the app's commands and future callers (the audit) build without it.
#include "audit/audit.h"
#include "audit/encoder.h"
#include "audit/features.h"
#include "audit/image_stats.h"
#include "audit/linear.h"
#include "audit/metrics.h"
#include "audit/neighbours.h"
#include "audit/scan_sets.h"
#include "clf/augment.h"
#include "clf/eval.h"
#include "clf/train.h"
#include "gen/config.h"
#include "gen/generate.h"
#include "gen/membership.h"
#include "gen/model_io.h"
#include "gen/obedience.h"
#include "gen/sampler_config.h"
#include "gen/schedule.h"
#include "gen/train_config.h"
#include "gen/train_loop.h"
#include "run/run.h"

#if defined(C10_MACROS_MACROS_H_) || defined(TORCH_API)
#error "LibTorch reached a public header"
#endif
