"""The shape of the code: no import circles among `models/` and `server/`, counting imports made
inside functions too (a circle hidden in a function is still a circle a newcomer trips on)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def import_graph() -> dict[str, set[str]]:
    """Module name -> the modules of this project it imports."""
    paths = {}
    for package in ("models", "server"):
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            paths[name] = path
    graph = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                submodules = {f"{module}.{a.name}" for a in node.names} & set(paths)
                deps |= submodules or ({module} & set(paths))
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names} & set(paths)
        graph[name] = deps - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()

    def walk(node: str, path: list[str]) -> None:
        for dep in graph[node]:
            if dep in path:
                loop = path[path.index(dep):]
                start = loop.index(min(loop))
                found.add(tuple(loop[start:] + loop[:start]))
            elif len(path) < 16:
                walk(dep, [*path, dep])

    for node in graph:
        walk(node, [node])
    return found


def test_no_import_circles():
    graph = import_graph()
    assert len(graph) > 40 and "models.stores.local" in graph["models.stores.sqlite"]
    assert not cycles(graph), "\n".join(" -> ".join(c) for c in sorted(cycles(graph)))


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {("a", "b", "c")}


def test_the_server_has_no_code_of_its_own_for_any_model():
    """REST, OpenAPI, sync, sharing and live updates serve every model of `models.registry`
    through the same generic code: `server/` never names a model, its collection or one of
    its fields (the demo's words in page text aside)."""
    from models.registry import MODELS

    words = {name for model in MODELS.values()
             for name in (model.__name__, model.collection, model.owned_by)} - {"id", "owner"}
    words |= {"list_id", "todo_list", "default_list_id", "inbox-"}
    found = []
    for path in (ROOT / "server").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in (
                    "models.todo", "models.todo_list"):
                found.append(f"{path.name}: imports {node.module}")
            names = ([node.id] if isinstance(node, ast.Name) else [node.attr]
                     if isinstance(node, ast.Attribute) else [node.value]
                     if isinstance(node, ast.Constant) and isinstance(node.value, str) else [])
            found += [f"{path.name}:{node.lineno}: {name!r}" for name in names
                      if name in words or (isinstance(name, str) and name.startswith("inbox-"))]
    assert not found, found


def test_the_page_code_compiles():
    """web/'s Python runs only in Chromium: a syntax error there (say an `await` a merge left in
    a plain function) would otherwise first show as a page that never starts."""
    sources = [p for p in (ROOT / "web").rglob("*.py") if "vendor" not in p.parts]
    assert sources
    for path in sources:
        compile(path.read_text(), str(path), "exec")
