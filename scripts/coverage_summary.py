#!/usr/bin/env python3
"""Line and branch coverage of the engine, read from gcov's JSON output.

Usage: scripts/coverage_summary.py BUILD_DIR SOURCE_ROOT [--files] [--missed]

--files lists each file; --missed lists each line with a condition outcome
no test reached (file:line, outcomes missed of outcomes).

gcc gives every call that may throw an extra edge to its unwinder; those edges
are flagged "throw" in gcov's JSON. lcov has an option to leave them out
(geninfo_no_exception_branch), but Debian 12's lcov 1.16 defines the JSON
reader twice and the second copy ignores the option, so this script counts
directly. It reports branches two ways: every edge gcc emits, and only the
edges of the source's own conditions (throw edges left out), which is the
figure docs/testing.md quotes.

Only files under SOURCE_ROOT/src and SOURCE_ROOT/include are counted. A line
or branch compiled into several objects (headers, templates) counts once and
is covered if any object covered it.
"""

import gzip
import json
import os
import subprocess
import sys
import tempfile


def gcda_files(build_dir):
    for root, _, files in os.walk(build_dir):
        for name in files:
            if name.endswith(".gcda"):
                yield os.path.join(root, name)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    build_dir, source_root = os.path.realpath(sys.argv[1]), os.path.realpath(sys.argv[2])
    per_file_listing = "--files" in sys.argv[3:]
    missed_listing = "--missed" in sys.argv[3:]
    roots = tuple(os.path.join(source_root, d) + os.sep for d in ("src", "include"))

    lines = {}  # (file, line) -> covered
    branches = {}  # (file, line, index) -> (covered, is_throw)
    def merge(report):
        for entry in report["files"]:
            path = os.path.realpath(os.path.join(report["current_working_directory"],
                                                 entry["file"]))
            if not path.startswith(roots):
                continue
            for line in entry["lines"]:
                key = (path, line["line_number"])
                lines[key] = lines.get(key, False) or line["count"] > 0
                for i, branch in enumerate(line["branches"]):
                    bkey = key + (i,)
                    covered, _ = branches.get(bkey, (False, branch["throw"]))
                    branches[bkey] = (covered or branch["count"] > 0, branch["throw"])

    with tempfile.TemporaryDirectory() as scratch:
        for gcda in gcda_files(build_dir):
            subprocess.run(
                ["gcov", "--json-format", "--branch-counts", "--branch-probabilities",
                 "--object-directory", os.path.dirname(gcda), gcda],
                cwd=scratch, check=True, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            for name in os.listdir(scratch):  # one report per object
                with gzip.open(os.path.join(scratch, name), "rt") as f:
                    merge(json.load(f))
                os.remove(os.path.join(scratch, name))

    def rate(hit, total):
        return f"{100.0 * hit / total:5.1f}% ({hit} of {total})" if total else "    -"

    def summarize(keys_lines, keys_branches):
        line_hit = sum(1 for v in keys_lines if v)
        all_hit = sum(1 for c, _ in keys_branches if c)
        own = [c for c, t in keys_branches if not t]
        return (rate(line_hit, len(keys_lines)), rate(all_hit, len(keys_branches)),
                rate(sum(own), len(own)))

    if missed_listing:
        per_line = {}
        for (path, line, _), (covered, is_throw) in branches.items():
            if not is_throw:
                missed, total = per_line.get((path, line), (0, 0))
                per_line[(path, line)] = (missed + (not covered), total + 1)
        for (path, line), (missed, total) in sorted(per_line.items()):
            if missed:
                print(f"{os.path.relpath(path, source_root)}:{line} {missed} of {total}")
        print()
    if per_file_listing:
        for path in sorted({k[0] for k in lines}):
            file_lines = [v for k, v in lines.items() if k[0] == path]
            file_branches = [v for k, v in branches.items() if k[0] == path]
            l, _, own = summarize(file_lines, file_branches)
            print(f"{os.path.relpath(path, source_root):40} lines {l:22} branches {own}")
        print()
    l, every, own = summarize(list(lines.values()), list(branches.values()))
    print(f"lines ..................... {l}")
    print(f"branches (source's own) ... {own}")
    print(f"branch edges (gcc, all) ... {every}")


if __name__ == "__main__":
    main()
