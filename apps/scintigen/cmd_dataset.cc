#include "commands.h"
#include "core/error.h"
namespace scintigen::cli {
int cmd_dataset(int, char**) { throw InternalError("dataset", "not built yet"); }
}  // namespace scintigen::cli
