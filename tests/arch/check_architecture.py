#!/usr/bin/env python3
"""Checks the include rules of docs/ARCHITECTURE.md against the code.

The rules are read from the document itself, so the two cannot drift apart: for every row of the
"Modules and their dependency rules" table whose folder is `src/<module>` or `apps/scintigen`,
the "may depend on" column names the scintigen modules and third-party libraries its files may
include. Every `#include` in src/ and apps/ is classified (a scintigen module by its folder, a
library by its header path, anything else is the C/C++ standard library or the system) and
checked against that list. Prints one line per violation and exits 1; exits 0 when all hold.

    check_architecture.py REPO_ROOT               check the tree
    check_architecture.py --self-test REPO_ROOT   check that the check catches added violations
"""
import pathlib
import re
import shutil
import sys
import tempfile

# Third-party libraries as the document names them, and the headers that belong to them.
LIBRARIES = {
    "nlohmann-json": [r"nlohmann/"],
    "fmt": [r"fmt/"],
    "OpenSSL": [r"openssl/"],
    "DCMTK": [r"dcmtk/"],
    "OpenJPEG": [r"openjpeg\.h$", r"openjpeg-[0-9.]+/"],
    "libpng": [r"png\.h$", r"pngconf\.h$"],
    "zlib": [r"zlib\.h$"],
    "SQLite": [r"sqlite3\.h$"],
    "LibTorch": [r"torch/", r"ATen/", r"c10/", r"c10d/", r"gloo/", r"nccl\.h$"],
    "CLI11": [r"CLI/"],
    "cpp-httplib": [r"httplib\.h$"],
}


def parse_rules(doc):
    """{folder: (allowed modules, allowed libraries)} from the ARCHITECTURE.md table."""
    rules = {}
    modules = set()
    rows = [line for line in doc.splitlines() if line.startswith("| `")]
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        folder = re.match(r"`([^`]+)`", cells[0]).group(1).rstrip("/")
        if folder.startswith("src/"):
            modules.add(folder[len("src/"):])
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        folder = re.match(r"`([^`]+)`", cells[0]).group(1).rstrip("/")
        if not (folder.startswith("src/") or folder == "apps/scintigen"):
            continue
        may = re.sub(r"\([^)]*\)", "", cells[2])  # parenthesised remarks are not names
        names = [n.strip() for n in may.split(",") if n.strip()]
        allowed_modules, allowed_libs = set(), set()
        for name in names:
            if name == "public headers of all modules":
                allowed_modules |= modules
            elif name in modules:
                allowed_modules.add(name)
            elif name.split()[0] in LIBRARIES:
                allowed_libs.add(name.split()[0])
            elif name == "std":
                pass
            else:
                raise SystemExit(f"ARCHITECTURE.md: row {folder}: unknown name '{name}' in 'may depend on'")
        if folder.startswith("src/"):
            allowed_modules.add(folder[len("src/"):])  # a module includes its own headers
        rules[folder] = (allowed_modules, allowed_libs)
    return rules, modules


def classify(header, modules):
    """('module', name), ('library', name) or None for the standard library and the system."""
    first = header.split("/")[0]
    if "/" in header and first in modules:
        return ("module", first)
    for lib, patterns in LIBRARIES.items():
        if any(re.match(p, header) for p in patterns):
            return ("library", lib)
    return None


def violations(root):
    doc = (root / "docs/ARCHITECTURE.md").read_text()
    rules, modules = parse_rules(doc)
    found = []
    for folder, (allowed_modules, allowed_libs) in sorted(rules.items()):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in (".h", ".cc", ".hpp", ".cpp"):
                continue
            for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                m = re.match(r'\s*#\s*include\s*[<"]([^>"]+)[>"]', line)
                if not m:
                    continue
                kind = classify(m.group(1), modules)
                if kind is None:
                    continue
                what, name = kind
                if (what == "module" and name not in allowed_modules) or (what == "library" and name not in allowed_libs):
                    rel = path.relative_to(root)
                    found.append(f"{rel}:{lineno}: includes {m.group(1)} ({what} {name}), "
                                 f"which docs/ARCHITECTURE.md does not allow in {folder}")
    return found


def self_test(root):
    """The check must catch what it is for: a copy of the tree with two forbidden includes added
    (a module above its layer, a library outside its module) fails with exactly those two."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp)
        shutil.copytree(root / "src", copy / "src")
        shutil.copytree(root / "apps", copy / "apps")
        (copy / "docs").mkdir()
        shutil.copy(root / "docs/ARCHITECTURE.md", copy / "docs/ARCHITECTURE.md")
        if violations(copy):
            print("self-test: the unmodified copy already breaks the rules")
            return 1
        for rel, line in (("src/data/dataset.h", '#include "pipeline/ingest.h"'), ("src/core/scan.h", "#include <sqlite3.h>")):
            with open(copy / rel, "a") as f:
                f.write(line + "\n")
        bad = violations(copy)
        want = ["src/core/scan.h", "src/data/dataset.h"]
        got = sorted(b.split(":")[0] for b in bad)
        for b in bad:
            print("self-test caught:", b)
        if got != want:
            print(f"self-test: expected violations in {want}, got {got}")
            return 1
    print("self-test: both forbidden includes were caught")
    return 0


def main():
    root = pathlib.Path(sys.argv[-1] if len(sys.argv) > 1 and sys.argv[-1] != "--self-test" else ".").resolve()
    if "--self-test" in sys.argv:
        return self_test(root)
    bad = violations(root)
    for line in bad:
        print(line)
    if bad:
        print(f"{len(bad)} include(s) break docs/ARCHITECTURE.md's rules")
        return 1
    print("every include in src/ and apps/ follows docs/ARCHITECTURE.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
