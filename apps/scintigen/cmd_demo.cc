#include "commands.h"
#include "core/error.h"
namespace scintigen::cli {
int cmd_demo(int, char**) { throw InternalError("demo", "not built yet"); }
}  // namespace scintigen::cli
