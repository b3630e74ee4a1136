// File-system helpers: atomic writes (temporary file, fsync, rename) and whole-file reads.
//
//   write_file_atomic("ds/dataset.json", text);   // readers see the old or the new file, never half
#pragma once

#include <cstdint>
#include <string>

namespace scintigen {

// Creates the missing folders above `path` (every command's --out a/b/c works without a
// prior mkdir). Throws InputError naming the path when a part is a file or not writable.
void create_parent_folders(const std::string& path);

// Writes `data` to `path` through `path.tmp-<pid>`: creates missing parent folders, fsync the
// file, rename over `path`, fsync the folder. Throws InternalError naming the path on failure.
void write_file_atomic(const std::string& path, const std::string& data);

// Reads a whole file. Throws InputError naming the path when it cannot be read or is larger
// than `max_bytes`.
std::string read_file(const std::string& path, uint64_t max_bytes = (1ull << 30));

// fsync a folder so a rename inside it is durable.
void fsync_dir(const std::string& dir);

}  // namespace scintigen
