"""The shape of the package, as a contract the fast lane holds (docs/architecture.md): the layers of
pyproject.toml's import-linter configuration, no circle between modules, short functions with few
parameters, and errors that only the CLI turns into exit codes."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "gradekit"
MAX_LINES, MAX_PARAMETERS = 50, 6
# signatures that others define: papermill calls the engine's classmethod with these names
OTHERS_SIGNATURES = {("gradekit/run/tasked.py", "execute_managed_notebook")}


def test_the_layers_hold():
    done = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0 and "1 kept, 0 broken" in done.stdout, done.stdout[-3000:] + done.stderr[-2000:]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_circle_between_modules():
    graph = grimp.build_graph("gradekit", include_external_packages=False)
    imports = {m: {i for i in graph.find_modules_directly_imported_by(m)
                   if not (m.startswith(i + ".") and i.count(".") < m.count("."))}   # a module's own package face
               for m in graph.modules}
    assert _cycles(imports) == []
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]], "the check finds a circle"


def _functions():
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path.relative_to(REPO).as_posix(), node


def _parameters(node) -> int:
    a = node.args
    names = [*a.posonlyargs, *a.args, *a.kwonlyargs, *([a.vararg] if a.vararg else []), *([a.kwarg] if a.kwarg else [])]
    return len([n for n in names if n.arg not in ("self", "cls")])


def test_functions_are_short_and_take_few_parameters():
    long = [f"{path}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1} lines"
            for path, node in _functions() if node.end_lineno - node.lineno + 1 > MAX_LINES]
    wide = [f"{path}:{node.lineno} {node.name}: {_parameters(node)} parameters" for path, node in _functions()
            if _parameters(node) > MAX_PARAMETERS and (path, node.name) not in OTHERS_SIGNATURES]
    assert long == [] and wide == [], "\n".join(long + wide)


def test_only_the_cli_exits():
    raised = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "cli.py" or "provided" in path.parts:   # provided/: the students' side, not the library
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and node.exc is not None:
                call = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(call, ast.Name) and call.id == "SystemExit":
                    raised.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert raised == [], "library code raises a typed error from gradekit.errors instead: " + ", ".join(raised)
