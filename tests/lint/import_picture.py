"""The import picture of the domain areas: which area imports which, the circles among them,
and the imports made inside functions (lazy imports) outside tests.

    .venv/bin/python tests/lint/import_picture.py          # summary
    .venv/bin/python tests/lint/import_picture.py -v       # plus every cross-area import
                                                            # inside a circle, and every lazy one

It reads the code only (grimp, the graph import-linter checks, and ast); nothing is imported.
"""

from __future__ import annotations

import argparse
import ast
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("server", "frontend", "consumers", "announce", "domain")


def area(module: str) -> str:
    """domain.catalog.models -> domain.catalog; domain.events -> domain.events."""
    parts = module.split(".")
    return ".".join(parts[:2])


def strongly_connected(nodes: set[str], edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return found


def lazy_imports() -> list[tuple[str, int, str]]:
    """Imports inside a function body, outside tests (TYPE_CHECKING blocks are not lazy)."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = str(path.relative_to(ROOT))
            tree = ast.parse(path.read_text(), name)

            def walk(node: ast.AST, in_function: bool, name: str = name) -> None:
                for child in ast.iter_child_nodes(node):
                    inner = in_function or isinstance(
                        child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
                    )
                    if in_function and isinstance(child, ast.Import | ast.ImportFrom):
                        if isinstance(child, ast.ImportFrom):
                            target = "." * child.level + (child.module or "")
                        else:
                            target = ", ".join(a.name for a in child.names)
                        found.append((name, child.lineno, target))
                    walk(child, inner)

            walk(tree, False)
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False, cache_dir=None)

    domain_modules = {m for m in graph.modules if m.startswith("domain.")}
    nodes = {area(m) for m in domain_modules}
    edges: dict[str, set[str]] = defaultdict(set)
    details: dict[tuple[str, str], list[str]] = defaultdict(list)
    for importer in sorted(domain_modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if not imported.startswith("domain.") or imported == "domain":
                continue
            a, b = area(importer), area(imported)
            if a != b:
                edges[a].add(b)
                details[(a, b)].append(f"{importer} -> {imported}")

    print("Area-level imports (domain): importer -> imported areas [module imports]")
    for node in sorted(nodes):
        targets = sorted(edges.get(node, ()))
        shown = ", ".join(f"{t.removeprefix('domain.')}[{len(details[(node, t)])}]"
                          for t in targets)
        print(f"  {node.removeprefix('domain.'):14} -> {shown or '-'}")

    cycles = strongly_connected(nodes, edges)
    print(f"\nCircles (strongly connected groups of areas): {len(cycles)}")
    for component in cycles:
        print("  " + " <-> ".join(c.removeprefix("domain.") for c in component))
        if args.verbose:
            members = set(component)
            for (a, b), lines in sorted(details.items()):
                if a in members and b in members:
                    for line in lines:
                        print(f"      {line}")
    cross = sum(len(v) for v in details.values())
    in_circle = sum(
        len(v) for (a, b), v in details.items() if any(a in c and b in c for c in cycles)
    )
    print(f"Cross-area module imports: {cross} (within a circle: {in_circle})")

    module_edges = {m: {t for t in graph.find_modules_directly_imported_by(m)
                        if t in domain_modules} for m in domain_modules}
    module_cycles = strongly_connected(domain_modules, module_edges)
    print(f"Module-level circles in domain: {len(module_cycles)}, "
          f"{sum(len(c) for c in module_cycles)} modules in them")
    for component in module_cycles:
        print("  " + " <-> ".join(c.removeprefix("domain.") for c in component))

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = pyproject["tool"]["importlinter"]["contracts"]
    ignores = sum(len(c.get("ignore_imports", [])) for c in contracts)
    print(f"import-linter ignore_imports entries: {ignores}")
    ignored = {tuple(part.strip() for part in line.split("->"))
               for c in contracts for line in c.get("ignore_imports", [])}
    kept_edges: dict[str, set[str]] = defaultdict(set)
    for (a, b), lines in details.items():
        if any(tuple(line.split(" -> ")) not in ignored for line in lines):
            kept_edges[a].add(b)
    left = strongly_connected(nodes, kept_edges)
    print(f"Area-level circles once the ignored imports are left out: {len(left)}")
    for component in left:
        print("  " + " <-> ".join(c.removeprefix("domain.") for c in component))

    lazy = lazy_imports()
    per_file: dict[str, int] = defaultdict(int)
    for row in lazy:
        per_file[row[0]] += 1
    own = [row for row in lazy if row[2].lstrip(".").split(".")[0] in PACKAGES or
           row[2].startswith(".")]
    print(f"Function-level imports outside tests: {len(lazy)} in {len(per_file)} files, "
          f"{len(own)} of them of this project's own modules")
    for path, count in sorted(per_file.items(), key=lambda kv: (-kv[1], kv[0]))[:10]:
        print(f"  {count:3} {path}")
    if args.verbose:
        for file, lineno, target in lazy:
            print(f"      {file}:{lineno} {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
