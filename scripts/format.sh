#!/bin/bash
# Formats the C++ sources with the repository's .clang-format (Debian's clang-format 14), or with
# --check lists the files that differ and exits 1 (`make format-check`, and CTest
# Format.SourcesMatchClangFormat).
#   scripts/format.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cc' '*.h' '*.cpp' '*.hpp')
else
  mapfile -t files < <(find src apps tests bench fuzz \( -name '*.cc' -o -name '*.h' -o -name '*.cpp' -o -name '*.hpp' \) | sort)
fi
command -v clang-format > /dev/null || { echo "error: clang-format not found (hint: scripts/install-deps.sh installs it)" >&2; exit 2; }
if [[ ${1:-} == --check ]]; then
  differ=()
  for f in "${files[@]}"; do
    [[ -f $f ]] || continue
    clang-format --dry-run --Werror "$f" > /dev/null 2>&1 || differ+=("$f")
  done
  if ((${#differ[@]})); then
    printf '%s\n' "${differ[@]}"
    echo "error: ${#differ[@]} of ${#files[@]} files differ from .clang-format (hint: make format)" >&2
    exit 1
  fi
  echo "all ${#files[@]} C++ files match .clang-format"
else
  clang-format -i "${files[@]}"
fi
