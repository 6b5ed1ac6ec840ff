#!/usr/bin/env python3
"""Checks that the proxier's layers go one way.

Reads the layer order from the `# Layers` section of
crates/proxier/src/lib.rs (a numbered list, bottom first, each item
naming its modules as [`module`] links before its colon), then every
`crate::...` and `super::...` path in the code of crates/proxier/src
(comments and string literals are skipped; test modules are included)
and fails on

  * an import from a module to a module of a higher layer, and
  * an import cycle between the proxier's top-level modules (modules of
    one layer may use each other, one way only),

naming the importing file, its line and the offending edge. Prints
`layers: N passed, M failed` (N and M count the module-to-module edges
checked, plus the cycle check). Python 3 standard library only.

  tests/layers.py [-v] [SRC_DIR]     (default: crates/proxier/src)

-v prints every edge and the first place that makes it.
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def strip(text):
    """`text` with comments, string and char literals blanked (newlines
    kept, so offsets and line numbers stay)."""
    out = []
    i, n = 0, len(text)

    def blank(s):
        return re.sub(r"[^\n]", " ", s)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(text[i:j]))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif (m := re.match(r'b?r(#*)"', text[i:])) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = text.find('"' + m.group(1), i + m.end())
            j = n if end < 0 else end + 1 + len(m.group(1))
            out.append(blank(text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(blank(text[i : j + 1]))
            i = j + 1
        elif c == "'" and (m := re.match(r"'(\\(x..|u\{[0-9a-fA-F]+\}|.)|[^\\'])'", text[i:])):
            out.append(blank(m.group(0)))
            i += m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def module_path(src, path):
    """The module path of a file: ['plan', 'incremental', 'tests', 'history']."""
    parts = os.path.relpath(path, src)[: -len(".rs")].split(os.sep)
    if parts[-1] == "mod":
        parts.pop()
    return parts


def tree_heads(text, start):
    """The first name of each item of the use tree `{...}` at `start`,
    with the offset of each."""
    heads, depth, item_start, i = [], 0, start + 1, start
    while i < len(text):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if (c == "," and depth == 1) or depth == 0:
            item = text[item_start:i]
            m = re.match(r"\s*(\w+)", item)
            if m:
                heads.append((m.group(1), item_start + m.start(1), item))
            item_start = i + 1
            if depth == 0:
                break
        i += 1
    return heads


def imports(src, path):
    """(line, top-level module used, the path as written) for each
    `crate::` or `super::` path of the file that leaves its top-level
    module."""
    text = strip(open(path, encoding="utf-8").read())
    base = module_path(src, path)
    # Inline modules (`mod tests { ... }`) move `super`.
    inline, depth = [], 0
    found = []
    token = re.compile(r"\bmod\s+(\w+)\s*\{|[{}]|(?<![\w$])((?:crate\s*::\s*)|(?:super\s*::\s*)+)")
    for m in token.finditer(text):
        s = m.group(0)
        if m.group(1):
            depth += 1
            inline.append((m.group(1), depth))
            continue
        if s == "{":
            depth += 1
            continue
        if s == "}":
            if inline and inline[-1][1] == depth:
                inline.pop()
            depth -= 1
            continue
        prefix = m.group(2)
        here = base + [name for name, _ in inline]
        if prefix.startswith("crate"):
            target = []
        else:
            ups = prefix.count("super")
            if ups > len(here):
                continue
            target = here[: len(here) - ups]
        line = text.count("\n", 0, m.start()) + 1
        rest = text[m.end() :]
        shown = re.sub(r"\s+", " ", text[m.start() : m.end() + 60].split(";")[0])
        if target:
            found.append((line, target[0], shown))
        elif rest.lstrip().startswith("{"):
            brace = m.end() + (len(rest) - len(rest.lstrip()))
            for head, _, item in tree_heads(text, brace):
                if head not in ("self", "super", "crate"):
                    found.append((line, head, prefix.replace(" ", "") + re.sub(r"\s+", " ", item.strip())))
        else:
            head = re.match(r"\s*(\w+)", rest)
            if head:
                found.append((line, head.group(1), shown))
    return [(line, top, shown) for line, top, shown in found if top != base[0]]


def layers(lib):
    """{module: layer number} from the `# Layers` section of lib.rs, and
    the declared modules."""
    order, section = {}, False
    text = open(lib, encoding="utf-8").read()
    for raw in text.splitlines():
        if raw.startswith("//! #"):
            section = raw.strip() == "//! # Layers"
            continue
        m = re.match(r"//! (\d+)\. ([^:]*)", raw)
        if section and m:
            for name in re.findall(r"\[`(\w+)`\]", m.group(2)):
                if name in order:
                    sys.exit(f"layers: {lib}: `{name}` is in two layers")
                order[name] = int(m.group(1))
    modules = re.findall(r"^(?:pub )?mod (\w+);", text, re.M)
    return order, modules


def cycles(edges):
    """The strongly connected components of more than one module."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    nodes = sorted({a for a, _ in edges} | {b for _, b in edges})

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for a, b in sorted(edges):
            if a != v:
                continue
            if b not in index:
                visit(b)
                low[v] = min(low[v], low[b])
            elif b in on:
                low[v] = min(low[v], index[b])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in nodes:
        if v not in index:
            visit(v)
    return out


def main(argv):
    verbose = "-v" in argv
    args = [a for a in argv if a != "-v"]
    src = args[0] if args else os.path.join(ROOT, "crates/proxier/src")
    lib = os.path.join(src, "lib.rs")
    order, modules = layers(lib)
    failed = passed = 0
    for name in modules:
        if name not in order:
            print(f"FAIL {lib}: module `{name}` is in no layer of the `# Layers` list")
            failed += 1
    for name in order:
        if name not in modules:
            print(f"FAIL {lib}: the `# Layers` list names `{name}`, which is no module")
            failed += 1

    edges = {}
    for root, dirs, files in os.walk(src):
        dirs.sort()
        for f in sorted(files):
            path = os.path.join(root, f)
            if not f.endswith(".rs") or os.path.dirname(path) == src:
                continue
            for line, top, shown in imports(src, path):
                if top not in order:
                    continue
                edges.setdefault((module_path(src, path)[0], top), []).append(
                    (os.path.relpath(path, ROOT), line, shown)
                )

    for (a, b), places in sorted(edges.items()):
        if a not in order:
            continue
        if order[b] > order[a]:
            failed += 1
            print(f"FAIL upward import: `{a}` (layer {order[a]}) uses `{b}` (layer {order[b]})")
            for file, line, shown in places:
                print(f"  {file}:{line}: {shown}")
        else:
            passed += 1
            if verbose:
                file, line, shown = places[0]
                print(f"ok {a} -> {b} ({len(places)}; {file}:{line}: {shown})")

    loops = cycles(set(edges))
    for comp in loops:
        print(f"FAIL import cycle between {', '.join(f'`{m}`' for m in comp)}:")
        for (a, b), places in sorted(edges.items()):
            if a in comp and b in comp:
                file, line, shown = places[0]
                more = f" (and {len(places) - 1} more)" if len(places) > 1 else ""
                print(f"  {a} -> {b}: {file}:{line}: {shown}{more}")
    failed += len(loops)
    passed += not loops
    print(f"layers: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
