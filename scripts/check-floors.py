#!/usr/bin/env python3
"""Checks the layout rules of docs/ARCHITECTURE.md ("folders are floors"):

1. includes: a product file includes only its own floor or the floors below it
   (base < kernels < datasets < models < sweeps < runtime < runtime/cli), and never tests/ or bench/;
2. circles: no two translation units need each other, directly or through others (from the
   symbols of the object files in BUILD_DIR: A needs B when A uses a function or variable B
   defines); skipped when no build folder is given;
3. sizes: no product source file over 1000 lines, no function over 200 lines.

Usage: scripts/check-floors.py [BUILD_DIR]   (exit 1 with every violation listed)
"""
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FLOORS = ["base", "kernels", "datasets", "models", "sweeps", "runtime", "runtime/cli"]
SRC_EXT = (".c", ".h", ".cu", ".cuh")
MAX_FILE_LINES = 1000
MAX_FUNCTION_LINES = 200
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def floor_of(path):
    """Index in FLOORS of a repo-relative path, or None outside the product floors."""
    best = None
    for i, f in enumerate(FLOORS):
        if path == f or path.startswith(f + "/"):
            best = i  # later (deeper) floors win: runtime/cli over runtime
    return best


def product_files():
    out = []
    for top in ("base", "kernels", "datasets", "models", "sweeps", "runtime"):
        for d, _, names in os.walk(os.path.join(ROOT, top)):
            for n in names:
                if n.endswith(SRC_EXT):
                    out.append(os.path.relpath(os.path.join(d, n), ROOT))
    return sorted(out)


def resolve(src, target):
    for cand in (os.path.join(os.path.dirname(src), target), target):
        p = os.path.normpath(cand)
        if os.path.isfile(os.path.join(ROOT, p)):
            return p
    return None


def check_includes(files, problems):
    for f in files:
        mine = floor_of(f)
        with open(os.path.join(ROOT, f), errors="replace") as fh:
            for ln, line in enumerate(fh, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                to = resolve(f, m.group(1))
                if to is None:
                    continue  # a system or toolkit header found through -I
                theirs = floor_of(to)
                if theirs is None:
                    problems.append(f"{f}:{ln}: includes {to}, which is not product code")
                elif theirs > mine:
                    problems.append(f"{f}:{ln}: includes {to} from the floor above "
                                    f"({FLOORS[mine]} < {FLOORS[theirs]})")


def function_lengths(text):
    """(name, first line, lines) of every function definition in clang-formatted C/CUDA."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line or line[0] in " \t#/*}" or line.startswith(("typedef", "struct", "enum",
                                                                  "union", "extern \"C\"")):
            i += 1
            continue
        # the header runs until a line ending in '{' or ';'
        j, head = i, line
        while j < len(lines) and not re.search(r"[{;]\s*$", lines[j]) and j - i < 12:
            j += 1
            if j < len(lines):
                head += " " + lines[j].strip()
        if j >= len(lines) or not lines[j].rstrip().endswith("{") or "(" not in head or "=" in \
                head.split("(")[0]:
            i = j + 1
            continue
        name = re.findall(r"([A-Za-z_]\w*)\s*\(", head)
        depth, k = 0, j
        while k < len(lines):
            depth += lines[k].count("{") - lines[k].count("}")
            if depth <= 0:
                break
            k += 1
        out.append((name[0] if name else "?", i + 1, k - i + 1))
        i = k + 1
    return out


def check_sizes(files, problems):
    for f in files:
        with open(os.path.join(ROOT, f), errors="replace") as fh:
            text = fh.read()
        n = text.count("\n")
        if n > MAX_FILE_LINES:
            problems.append(f"{f}: {n} lines (at most {MAX_FILE_LINES})")
        if f.endswith((".c", ".cu", ".cuh", ".h")):
            for name, line, length in function_lengths(text):
                if length > MAX_FUNCTION_LINES:
                    problems.append(f"{f}:{line}: function {name} is {length} lines "
                                    f"(at most {MAX_FUNCTION_LINES})")


def objects(build):
    """{source path: object file} for the product's objects in a CMake build folder."""
    out = {}
    for d, _, names in os.walk(build):
        for n in names:
            if not n.endswith(".o"):
                continue
            full = os.path.join(d, n)
            rel = os.path.relpath(full, build)
            m = re.match(r"(?:.*/)?CMakeFiles/[^/]+\.dir/(.+)\.o$", rel)
            if not m:
                continue
            src = re.sub(r"^(__/)+", "", m.group(1))
            if floor_of(src) is not None and os.path.isfile(os.path.join(ROOT, src)):
                out.setdefault(src, full)
    return out


def check_circles(build, problems):
    objs = objects(build)
    defined, used = {}, {}
    for src, obj in objs.items():
        res = subprocess.run(["nm", "-P", obj], capture_output=True, text=True)
        if res.returncode != 0:
            continue
        used[src] = set()
        for line in res.stdout.splitlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            sym, kind = parts[0], parts[1]
            if kind == "U":
                used[src].add(sym)
            elif kind in "TDBRVWCG" or kind in "tdbr" and False:
                defined.setdefault(sym, src)
    graph = {s: sorted({defined[u] for u in used[s] if u in defined and defined[u] != s})
             for s in used}
    # Tarjan's strongly connected components
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    for comp in comps:
        detail = "; ".join(f"{a} -> {b}" for a in comp for b in graph[a] if b in comp)
        problems.append(f"circle of {len(comp)} files: {detail}")
    return len(objs)


def main():
    files = product_files()
    problems = []
    check_includes(files, problems)
    check_sizes(files, problems)
    n_obj = None
    if len(sys.argv) > 1:
        n_obj = check_circles(sys.argv[1], problems)
        if n_obj == 0:
            problems.append(f"{sys.argv[1]}: no product object files found (build it first)")
    for p in problems:
        print(p)
    what = f"{len(files)} files" + (f", {n_obj} objects" if n_obj is not None else "")
    print(f"check-floors: {what}, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
