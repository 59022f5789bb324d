"""The package graph, with imports inside functions counted, has no cycle and few lazy first-party imports
(scripts/import_graph.py; import-linter checks the layers themselves in scripts/test.sh)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _import_graph() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts" / "import_graph.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_the_scanner_counts_function_level_imports_and_finds_a_hidden_cycle(tmp_path: Path) -> None:
    graph_tool = _import_graph()
    for package, body in {
        "low": "def helper():\n    from high import thing\n    return thing\n",
        "high": "from low import helper\n\nthing = 1\n",
    }.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(body)
    graph = graph_tool.scan(tmp_path, ["low", "high"])
    assert [(i.importer, i.imported) for i in graph.function_level()] == [("low", "high")]
    assert graph_tool.strongly_connected(graph.package_edges()) == [["high", "low"]]


def test_the_shop_packages_form_no_cycle_and_keep_lazy_imports_few() -> None:
    graph_tool = _import_graph()
    graph = graph_tool.scan()
    assert graph_tool.strongly_connected(graph.package_edges()) == []
    lazy = graph.function_level()
    assert len(lazy) <= graph_tool.MAX_FUNCTION_LEVEL_IMPORTS, [f"{i.importer}:{i.line}" for i in lazy]
    # evals and bench are leaves: nothing in the product imports them except the CLI
    users = {i.importer for i in graph.imports if i.imported.split(".")[0] in {"evals", "bench"}}
    assert {u.split(".")[0] for u in users} <= {"evals", "bench", "ui"}
    assert all(u.startswith("ui.cli.") for u in users if u.startswith("ui"))
