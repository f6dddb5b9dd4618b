"""The layers of the code base, checked from its import statements (every ``import``, also inside
functions): no import cycle anywhere, and imports point down the layers only.

The service's layers, lowest first (``docs/architecture.md``)::

    config → db → contracts → domain → jobs → web | cli → app

A module may import its own layer and the layers below; ``web`` and ``cli`` stand side by side
and import neither each other nor ``app``. The engine (``matcher``) imports nothing of the
service and no web, schema or database library; the domain and everything under it import no
web framework.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("matcher", "service")

SERVICE_LAYERS: dict[str, int] = {
    "config": 0,
    "db": 1,
    "contracts": 2,
    "domain": 3,
    "jobs": 4,
    "web": 5,
    "cli": 5,
    "app": 6,
}
"""Each first-level part of ``service`` and its height; the package's own ``__init__`` is -1."""

WEB_LIBRARIES = ("flask", "flask_smorest", "flask_babel", "werkzeug", "gunicorn")
ENGINE_FORBIDDEN = (*WEB_LIBRARIES, "marshmallow", "sqlalchemy", "alembic", "service")
ALLOWED_BELOW_WEB = ("werkzeug.security",)
"""Password hashing is no web framework: the domain may hash with it."""


def module_files() -> dict[str, Path]:
    """Every module of the two packages by its dotted name (a package by its ``__init__``)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported_names(path: Path) -> Iterator[tuple[str, int]]:
    """``(dotted target, line)`` for each import in a file (``from a import b`` gives ``a.b``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield f"{node.module}.{alias.name}", node.lineno


def resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The module an import loads: the longest known prefix of ``target`` (``None``: external)."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        name = ".".join(parts[:end])
        if name in modules:
            return name
    return None


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for target, _line in imported_names(path):
            found = resolve(target, modules)
            if found is not None and found != name:
                graph[name].add(found)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def service_layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "service":
        return None
    return parts[1] if len(parts) > 1 else ""


def layer_violations() -> list[str]:
    """Every import that points up the layers, sideways between web and cli, or out of bounds."""
    modules = module_files()
    problems = []
    for name, path in modules.items():
        layer = service_layer(name)
        for target, line in imported_names(path):
            where = f"{path.relative_to(ROOT)}:{line} imports {target}"
            top = target.split(".")[0]
            if name.startswith("matcher") and (
                top in ENGINE_FORBIDDEN or target.startswith("service")
            ):
                problems.append(f"{where} (the engine imports no service or web code)")
                continue
            if layer is None or layer == "":
                continue
            height = SERVICE_LAYERS[layer]
            if (
                height < SERVICE_LAYERS["web"]
                and top in WEB_LIBRARIES
                and not target.startswith(ALLOWED_BELOW_WEB)
            ):
                problems.append(f"{where} (below the web layer: no web framework)")
            found = resolve(target, modules)
            other = service_layer(found) if found else None
            if other is None or other == "" or other == layer:
                continue
            if SERVICE_LAYERS[other] > height or (
                SERVICE_LAYERS[other] == height and other != layer
            ):
                problems.append(f"{where} ({layer} → {other} points up or sideways)")
    return problems


def test_every_module_of_the_service_belongs_to_a_layer() -> None:
    """A new top-level module or package of ``service`` must be given its place first."""
    layers = {service_layer(name) for name in module_files() if name.startswith("service")}
    assert layers - {""} <= set(SERVICE_LAYERS), layers - set(SERVICE_LAYERS)


def test_no_import_cycle_in_the_engine_or_the_service() -> None:
    """Tarjan's components over every import: each must be a single module."""
    assert cycles(import_graph()) == []


def test_imports_point_down_the_layers() -> None:
    """config → db → contracts → domain → jobs → web | cli → app, and the engine stays pure."""
    assert layer_violations() == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}, "c": set()}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_the_cycle_finder_finds_cycles(
    graph: dict[str, set[str]], expected: list[list[str]]
) -> None:
    """The checker itself can fail: a two- and a three-module loop are found, a chain is not."""
    assert cycles(graph) == expected
