#include "commands.h"
#include "core/error.h"
namespace scintigen::cli {
int cmd_ingest(int, char**) { throw InternalError("ingest", "not built yet"); }
}  // namespace scintigen::cli
