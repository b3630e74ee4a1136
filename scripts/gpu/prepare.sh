#!/usr/bin/env bash
# On the Debian machine, before a GPU-machine run: copy what the GPU build (scripts/gpu) needs
# and those machines lack into .gpu-deps/ (git-ignored; carry it): Debian's static SQLite,
# libpng and zlib with their headers, and the header-only CLI11 and nlohmann-json.
set -euo pipefail
cd "$(dirname "$0")/../.."
D=.gpu-deps
rm -rf "$D" && mkdir -p "$D/include" "$D/lib"
cp /usr/include/sqlite3.h /usr/include/sqlite3ext.h /usr/include/zlib.h /usr/include/zconf.h "$D/include/"
cp -L /usr/include/png.h /usr/include/pngconf.h /usr/include/pnglibconf.h "$D/include/"
cp -r /usr/include/CLI /usr/include/nlohmann "$D/include/"
for pkg_lib in libsqlite3-dev:libsqlite3.a libpng-dev:libpng16.a zlib1g-dev:libz.a; do
  f=$(dpkg -L "${pkg_lib%%:*}" | grep "/${pkg_lib#*:}\$" | head -1)
  [ -n "$f" ] || { echo "error: ${pkg_lib#*:} not found in ${pkg_lib%%:*} (scripts/install-deps.sh installs it)" >&2; exit 2; }
  cp -L "$f" "$D/lib/"
done
grep -qx '/.gpu-deps/' .git/info/exclude 2>/dev/null || { mkdir -p .git/info; echo '/.gpu-deps/' >> .git/info/exclude; }
echo "ready: $(du -sh "$D" | cut -f1) in $D; carry it to the GPU machine (scripts/gpu/check.sh, train.sh)"
