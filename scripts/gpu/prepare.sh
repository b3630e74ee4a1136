#!/usr/bin/env bash
# On the Debian machine, before a GPU-machine run: copy Debian's static SQLite (libsqlite3-dev)
# into .gpu-deps/sqlite (git-ignored), which scripts/gpu/check.sh builds src/data against.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .gpu-deps/sqlite/include .gpu-deps/sqlite/lib
cp /usr/include/sqlite3.h /usr/include/sqlite3ext.h .gpu-deps/sqlite/include/
cp "$(dpkg -L libsqlite3-dev | grep 'libsqlite3\.a$')" .gpu-deps/sqlite/lib/
grep -qx '/.gpu-deps/' .git/info/exclude 2>/dev/null || { mkdir -p .git/info; echo '/.gpu-deps/' >> .git/info/exclude; }
echo "ready: run scripts/gpu/check.sh on the GPU machine with .gpu-deps carried"
