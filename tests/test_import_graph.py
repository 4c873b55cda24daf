"""The app's modules import each other without a circle, deferred imports counted.

A circle hidden by an import inside a function (context → db → observability → context was
one) works until someone moves that import to the top. Imports under `if TYPE_CHECKING:` are
left out: they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"


def _module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST) -> list[str]:
    """Every `app.…` name a module imports at run time, at the top or inside a function."""
    found: list[str] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                pending.extend(child.orelse)
                continue
            if isinstance(child, ast.Import):
                found += [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found += [f"{child.module}.{alias.name}" for alias in child.names]
            pending.append(child)
    return [name for name in found if name.split(".")[0] == "app"]


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in APP.rglob("*.py")}

    def owner(name: str) -> str:
        while name not in paths:
            name = name.rpartition(".")[0]
        return name

    return {
        module: {owner(name) for name in _imports(ast.parse(path.read_text(encoding="utf-8")))} - {module}
        for module, path in paths.items()
    }


def _a_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One circle of imports, or [] (depth-first search, iterative)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    for start in sorted(graph):
        if start in state:
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            following = next(stack[-1], None)
            if following is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(following) == 1:
                return [*path[path.index(following) :], following]
            elif following not in state:
                state[following] = 1
                path.append(following)
                stack.append(iter(sorted(graph[following])))
    return []


def test_the_app_modules_import_without_a_circle() -> None:
    assert _a_cycle(_graph()) == []


def test_a_circle_is_found() -> None:
    assert _a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
