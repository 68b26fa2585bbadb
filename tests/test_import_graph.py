"""The import graph: the core has no import cycle (module-level or inside functions), and no app
imports a private name of the core (a name or module starting with ``_``): what apps use is the
core's public API, which can be documented and kept stable."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "packages" / "contrastkit" / "src"


def _module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> list[tuple[str, list[str], int]]:
    """``(imported module, names, line)`` of every import in the file, absolute."""
    out = []
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against this module's package
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            out.append((base, [alias.name for alias in node.names], node.lineno))
    return out


def _core_graph() -> dict[str, set[str]]:
    modules = {_module_name(p, CORE): p for p in CORE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for target, names, _ in _imports(path, module):
            for candidate in [f"{target}.{n}" for n in names] + [target]:
                if candidate in modules and candidate != module:
                    graph[module].add(candidate)
                    break
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The cycles of ``graph`` found by a depth-first search (each reported once per entry point)."""
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_the_core_has_no_import_cycle():
    cycles = _cycles(_core_graph())
    assert not cycles, "import cycles in the core:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_app_imports_a_private_name_of_the_core():
    private = []
    for path in sorted((ROOT / "apps").glob("*/src/**/*.py")):
        src = next(p for p in path.parents if p.name == "src")
        for target, names, line in _imports(path, _module_name(path, src)):
            if not target.startswith("contrastkit"):
                continue
            bad = [n for n in names if n.startswith("_")]
            if any(part.startswith("_") for part in target.split(".")) or bad:
                private.append(f"{path.relative_to(ROOT)}:{line}: {target} {bad or ''}".rstrip())
    assert not private, "apps importing private parts of the core:\n" + "\n".join(private)
