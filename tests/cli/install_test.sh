#!/bin/bash
# The installed scintigen runs `demo` from its prefix alone: install, move the prefix elsewhere,
# check that every resource is found inside the moved prefix (not in the source or build tree),
# then run a small demo there from an unrelated working folder.
#   install_test.sh BUILD_DIR SHARED_DIR
set -euo pipefail
build=$1
shared=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/first" > "$work/install.log"
mv "$work/first" "$work/moved"
prefix=$work/moved
cd "$work"

"$prefix/bin/scintigen" version --json > version.json
for resource in models/builtin configs/sites web; do
  want="\"$resource\": \"$prefix/share/scintigen/$resource\""
  if ! grep -qF "$want" version.json; then
    echo "FAIL: the installed binary did not find $resource in its prefix; version --json says:" >&2
    cat version.json >&2
    exit 1
  fi
done

"$prefix/bin/scintigen" demo --out "$work/demo" --n 2 --steps 4 --threads 2 --quiet \
  --data "$shared/data/dicom/wholebody" > demo.log
for f in demo/synthetic/sheet/contact_sheet.png demo/synthetic/dataset/dataset.json demo/real/sheet/contact_sheet.png; do
  [[ -s $f ]] || { echo "FAIL: the demo wrote no $f" >&2; cat demo.log >&2; exit 1; }
done
ndicom=$(find demo/synthetic/dicom -name '*.dcm' | wc -l)
[[ $ndicom -eq 2 ]] || { echo "FAIL: $ndicom DICOM files, expected 2" >&2; exit 1; }
echo "installed demo ran from $prefix"
