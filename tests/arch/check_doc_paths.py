#!/usr/bin/env python3
"""Every repository path the documentation names exists.

Scans README.md, BENCHMARKS.md and docs/**/*.md for paths that start with one of the repository's
top-level folders (src/, apps/, tests/, scripts/, bench/, docs/, configs/, models/, fuzz/, web/)
and checks that each exists in the tree (a stem such as bench/gen_bench may name a file with any
extension, e.g. a build target's source). Paths with placeholders (<...>, *, {...}, NAME-like
capitals after a slash) and paths under generated folders (web/node_modules, build/) are skipped.
Prints one line per stale reference and exits 1; exits 0 when all exist.

    check_doc_paths.py REPO_ROOT
"""
import pathlib
import re
import sys

ROOTS = ("src", "apps", "tests", "scripts", "bench", "docs", "configs", "models", "fuzz", "web")
PATH = re.compile(r"(?<![\w./-])((?:%s)/[\w./+-]*[\w+-])" % "|".join(ROOTS))
SKIP = re.compile(r"[<>*{}]|/[A-Z][A-Z0-9_]+(/|$)|^web/node_modules|\.\.\.")


def stale(root):
    docs = [root / "README.md", root / "BENCHMARKS.md"] + sorted((root / "docs").rglob("*.md"))
    found = []
    for doc in docs:
        if not doc.exists():
            continue
        for lineno, line in enumerate(doc.read_text().splitlines(), 1):
            for m in PATH.finditer(line):
                path = m.group(1).rstrip(".")
                after = line[m.end():m.end() + 1]
                if SKIP.search(path) or after in ("*", "{", "<"):
                    continue
                # A stem names its files or build target: src/data/dataset.{h,cc}, bench/gen_bench.
                if not (root / path).exists() and not list((root / path).parent.glob(pathlib.Path(path).name + ".*")):
                    found.append(f"{doc.relative_to(root)}:{lineno}: names {path}, which does not exist")
    return found


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    bad = stale(root)
    for line in bad:
        print(line)
    if bad:
        print(f"{len(bad)} stale path(s) in the documentation")
        return 1
    print("every path the documentation names exists")
    return 0


if __name__ == "__main__":
    sys.exit(main())
