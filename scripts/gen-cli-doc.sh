#!/usr/bin/env bash
# Regenerates docs/CLI.md from the binary's --help output (a cli test checks it is current).
# usage: scripts/gen-cli-doc.sh [BINARY] > docs/CLI.md
set -euo pipefail
B=${1:-build/apps/scintigen/scintigen}
echo "# Command-line reference"
echo
echo "Generated from \`--help\` by \`scripts/gen-cli-doc.sh > docs/CLI.md\`; a test fails when it is out of date."
echo "Exit status everywhere: 0 success, 1 partial failure (some inputs rejected, the rest done), 2 bad input"
echo "or usage, 3 internal error. Errors read \`error: <file or flag>: <what> (hint: <how to fix>)\`."
for c in "" ingest simulate dataset "dataset info" "dataset split" "dataset merge" "dataset export" stats "stats auc" "stats compare" "stats survival" "stats agreement" classify "classify train" "classify eval" audit "audit encoder" reader "reader create" "reader serve" "reader report" study train generate model "model info" "model check" autoencoder "autoencoder train" "autoencoder reconstruct" demo version; do
  echo
  echo "## scintigen${c:+ $c}"
  echo
  echo '```'
  # shellcheck disable=SC2086
  "$B" $c --help 2>&1 | sed -e 's/[[:space:]]*$//' | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
  echo '```'
done
