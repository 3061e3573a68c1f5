#!/usr/bin/env python3
"""Keeps src/ layered: reads the `use crate::`, `crate::` and `super::` paths of every
module and fails on an import that runs from a lower layer up to a higher one, on an
import circle between files, and on a `crate::Name` that goes through the crate
root's re-exports instead of naming the module that defines it.

    python3 scripts/layers.py          # check; exit 1 with the offending imports
    python3 scripts/layers.py --graph  # also print the module graph

The layers, lowest first; a module may use its own layer and the layers below it.
The crate docs (src/lib.rs, "Layout") say the same in prose.
"""
import os
import re
import sys

LAYERS = [
    "sync",        # std or loom primitives
    "spec",        # the description of a check: scenario, schedule, config
    "detect",      # the violation kinds and the detectors
    "report",      # the journal of a run, the report and the summary
    "liveness",    # the watchdog: heartbeat, hang reports
    "engine",      # runs one schedule: wakers, re-entry, hooks, panic capture
    "instrument",  # what users put in their own code: .checked(), probes, I/O probes
    "explore",     # the schedule sources, the judge, the shrinker
    "checks",      # the other checks: executor kit, waker check, loom driver
    "check",       # check() and Checker
    "model",       # model() and spawn
]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def modules():
    mods = {}
    for d, _, fs in os.walk(ROOT):
        for f in fs:
            if f.endswith(".rs"):
                p = os.path.join(d, f)
                rel = os.path.relpath(p, ROOT)[:-3].split(os.sep)
                if rel[-1] == "mod":
                    rel = rel[:-1]
                if rel == ["lib"]:
                    rel = []
                mods[tuple(rel)] = p
    return mods


def code_only(src):
    """The source with comments, strings and char literals blanked out."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        if src.startswith("/*", i):
            depth = 0
            while i < n:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                    if depth == 0:
                        break
                else:
                    i += 1
            out.append(" ")
            continue
        if c in "rb" and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            m = re.match(r'b?r(#*)"', src[i : i + 40])
            if m:
                close = '"' + m.group(1)
                j = src.find(close, i + m.end())
                i = n if j < 0 else j + len(close)
                out.append('""')
                continue
        if c == '"':
            i += 1
            while i < n and src[i] != '"':
                i += 2 if src[i] == "\\" else 1
            i += 1
            out.append('""')
            continue
        if c == "'":
            m = re.match(r"'(?:\\[^']+|[^'\\])'", src[i : i + 12])
            if m:
                i += m.end()
                out.append("' '")
                continue
        out.append(c)
        i += 1
    return "".join(out)


def use_paths(base, tree):
    """Every path a `use` tree names, as segment lists, `base` prepended."""
    tree = tree.strip()
    if tree.startswith("{"):
        items, depth, cur = [], 0, ""
        for ch in tree[1:]:
            if ch == "{":
                depth += 1
            elif ch == "}":
                if depth == 0:
                    break
                depth -= 1
            if ch == "," and depth == 0:
                items.append(cur)
                cur = ""
            else:
                cur += ch
        items.append(cur)
        return [p for it in items if it.strip() for p in use_paths(base, it)]
    m = re.match(r"([\w:]*?)::(\{.*)$", tree, re.S)
    if m:
        return use_paths(base + [s for s in m.group(1).split("::") if s], m.group(2))
    head = re.split(r"\s+as\s+|\s", tree)[0]
    return [base + [s for s in head.split("::") if s and s != "self"]]


def imports(mod, path, src, mods):
    """(line, target module, text) for every module `mod` names."""
    found = []
    for m in re.finditer(r"\buse\s+(crate|super|self)::([^;]*);", src, re.S):
        # `super::` and `self::` inside an inline `mod tests` name the file's own
        # module; reading them as the file's parent only ever skips an edge.
        base = {"crate": [], "super": list(mod[:-1]), "self": list(mod)}[m.group(1)]
        line = src.count("\n", 0, m.start()) + 1
        for p in use_paths(base, m.group(2)):
            found.append((line, [s for s in p if s != "*"], m.group(0).split("\n")[0], m.group(1) == "crate"))
    for m in re.finditer(r"(?<![\w$])crate::((?:\w+::)*\w+)", src):
        line = src.count("\n", 0, m.start()) + 1
        found.append((line, m.group(1).split("::"), m.group(0), True))
    out, seen = [], set()
    for line, segs, text, from_root in found:
        target = ()
        for n in range(len(segs), -1, -1):
            if tuple(segs[:n]) in mods:
                target = tuple(segs[:n])
                break
        if (line, target, from_root) not in seen:
            seen.add((line, target, from_root))
            out.append((line, target, segs if from_root else [], text))
    return out


def layer(mod):
    return LAYERS.index(mod[0]) if mod and mod[0] in LAYERS else None


def main():
    mods = modules()
    errors, edges = [], {m: set() for m in mods}
    name = lambda m: "::".join(m) or "lib"
    for mod, path in sorted(mods.items()):
        if mod == ():
            continue
        if layer(mod) is None:
            errors.append(f"src/{os.path.relpath(path, ROOT)}: module `{name(mod)}` is in no layer (add it to LAYERS)")
            continue
        src = code_only(open(path).read())
        rel = "src/" + os.path.relpath(path, ROOT)
        for line, target, segs, text in imports(mod, path, src, mods):
            if target == () and segs and segs[0] not in LAYERS:
                errors.append(f"{rel}:{line}: `{text}` goes through the crate root; name the module that defines it")
                continue
            if target in ((), mod) or mod[: len(target)] == target or target[: len(mod)] == mod:
                continue  # itself, an enclosing module, or its own children
            edges[mod].add(target)
            if layer(target) > layer(mod):
                errors.append(
                    f"{rel}:{line}: `{name(mod)}` ({LAYERS[layer(mod)]}) uses `{name(target)}` "
                    f"({LAYERS[layer(target)]}), a higher layer"
                )
    # Circles between files (Tarjan's strongly connected components).
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
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
            comps.append(comp)

    for v in sorted(mods):
        if v not in index:
            visit(v)
    for comp in comps:
        if len(comp) > 1:
            errors.append("import circle: " + " -> ".join(sorted(name(m) for m in comp)))
    if "--graph" in sys.argv:
        for m in sorted(edges):
            if m:
                print(f"{name(m)} -> {', '.join(sorted(name(t) for t in edges[m])) or '-'}")
    if errors:
        print("\n".join(errors), file=sys.stderr)
        print(f"layers: {len(errors)} problem(s) in {len(mods)} files", file=sys.stderr)
        return 1
    print(f"layers: {len(mods)} files, {len(LAYERS)} layers, no upward import, no circle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
