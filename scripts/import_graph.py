"""Count first-party imports with the AST, including those inside functions, and check the package graph.

import-linter sees function-level imports too, but only as module edges inside its contracts; this script
answers two questions the contracts do not: is the graph of top-level packages acyclic when every import is
counted, and how many first-party imports still hide inside functions (lazy imports are allowed only where
start-up time needs them, so the count must stay small).

    python scripts/import_graph.py            # print the package graph and the counts
    python scripts/import_graph.py --check    # also exit 1 on a package cycle or too many lazy imports
"""

from __future__ import annotations

import argparse
import ast
import sys
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The issue-13 target: at least 80% fewer than the 226 function-level first-party imports before the refactor.
MAX_FUNCTION_LEVEL_IMPORTS = 45


def root_packages(root: Path = ROOT) -> list[str]:
    """The first-party packages, as import-linter knows them (pyproject.toml)."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["importlinter"]["root_packages"])


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name of the file holding the import
    imported: str  # dotted module name it imports
    line: int
    in_function: bool


@dataclass
class ImportGraph:
    imports: list[Import] = field(default_factory=list)

    def package_edges(self) -> dict[str, set[str]]:
        edges: dict[str, set[str]] = defaultdict(set)
        for item in self.imports:
            source, target = item.importer.split(".")[0], item.imported.split(".")[0]
            if source != target:
                edges[source].add(target)
        return edges

    def function_level(self) -> list[Import]:
        return [item for item in self.imports if item.in_function]


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


class _ImportVisitor(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, packages: set[str]) -> None:
        self.module, self.is_package, self.packages = module, is_package, packages
        self.depth = 0
        self.found: list[Import] = []

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _add(self, imported: str, line: int) -> None:
        if imported.split(".")[0] in self.packages:
            self.found.append(Import(self.module, imported, line, self.depth > 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._add(_resolve(node, self.module, self.is_package), node.lineno)


def scan(root: Path = ROOT, packages: list[str] | None = None) -> ImportGraph:
    names = packages or root_packages(root)
    graph = ImportGraph()
    for package in names:
        for path in sorted((root / package).rglob("*.py")):
            visitor = _ImportVisitor(_module_name(path, root), path.name == "__init__.py", set(names))
            visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
            graph.imports.extend(visitor.found)
    return graph


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; returns the components with more than one node (the cycles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(set(edges) | {t for targets in edges.values() for t in targets}):
        if node not in index:
            visit(node)
    return components


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 on a package cycle or too many lazy imports"
    )
    parser.add_argument("--list", action="store_true", help="list every function-level first-party import")
    args = parser.parse_args(argv)

    graph = scan()
    edges = graph.package_edges()
    cycles = strongly_connected(edges)
    lazy = graph.function_level()
    print("package graph (every import, incl. inside functions):")
    for source in sorted(edges):
        print(f"  {source:12} -> {', '.join(sorted(edges[source]))}")
    print(f"package cycles: {cycles or 'none'}")
    per_package = Counter(item.importer.split(".")[0] for item in lazy)
    print(
        f"function-level first-party imports: {len(lazy)} (limit {MAX_FUNCTION_LEVEL_IMPORTS}) "
        f"{dict(sorted(per_package.items()))}"
    )
    if args.list:
        for item in lazy:
            print(f"  {item.importer}:{item.line} -> {item.imported}")
    if args.check and (cycles or len(lazy) > MAX_FUNCTION_LEVEL_IMPORTS):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
