"""What of a notebook travels to the grading worker: its top-level imports, functions, classes and literal
assignments, plus the module-level names those functions read (`SCALE = math.sqrt(2)`), brought with the
statements that assign them, so that a function that works in the notebook works when graded.

A name is brought only when its statements are cheap and self-contained: they read imports, literals and
other names that can be brought, and call nothing the notebook defines (that could train a model or read
data). A name that cannot be brought is listed with the reason, for the grader's message."""
from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field
from pathlib import Path

from gradekit.grading.failures import BadArtifact
from gradekit.platform.untrusted import MAX_NOTEBOOK_BYTES, UntrustedData, read_json


_MAGIC = re.compile(r"^\s*[%!].*$", re.M)
_DEFINING = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# the kit's own data helpers: a statement that loads data is not cheap, and the graders have their own copy
_LOADS_DATA = {"load_dataset", "dataset_path", "load_pretrained", "pretrained_weights", "open"}


@dataclass
class Definitions:
    source: str
    gaps: dict[str, str] = field(default_factory=dict)   # name a function reads -> why it cannot travel


def collect(notebook: Path) -> Definitions:
    statements = _executed_statements(notebook)
    # a literal bound to plain names; `x[i] = 0` or `obj.a = 1` only modifies a name, and travels with it
    kept = [s for s in statements if isinstance(s, _DEFINING) or (isinstance(s, ast.Assign) and _is_literal(s.value)
                                                                   and all(_plain_target(t) for t in s.targets))]
    brought = _Bringer(statements, kept)
    for s in kept:
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for name in sorted(_read_names(s) - _bound_inside(s)):
                brought.bring(name)
    # notebook order, as it ran; a brought statement that fails in the worker leaves only its name undefined
    body = [s if s in kept else _guarded(s) for s in statements if s in kept or id(s) in brought.statements]
    return Definitions(ast.unparse(ast.Module(body=body, type_ignores=[])), brought.gaps)


class _Bringer:
    """The names the kept definitions read, brought with the statements that assign them when they can
    travel (a literal, or computed from names that can), else the reason they cannot."""

    def __init__(self, statements: list[ast.stmt], kept: list[ast.stmt]):
        self.callables = {s.name for s in kept if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        self.assigners: dict[str, list[ast.stmt]] = {}
        for s in statements:
            if isinstance(s, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and s not in kept:
                for name in _bound(s):
                    self.assigners.setdefault(name, []).append(s)
        # a kept name that later statements modify (`d = {}` then `d['k'] = 1`) is brought with them
        self.defined = (set().union(*(_bound(s) for s in kept)) - set(self.assigners)) | set(dir(builtins))
        self.statements: set[int] = set()
        self.gaps: dict[str, str] = {}
        self.resolving: set[str] = set()

    def bring(self, name: str) -> str | None:
        """None when `name` can travel (its statements are added), else why not."""
        if name in self.defined:
            return None
        if name in self.gaps:
            return self.gaps[name]
        if name in self.resolving:
            return None   # a cycle: the statements involved are already being brought
        if name not in self.assigners:
            self.gaps[name] = "it is not assigned at the top level of a cell that ran"
            return self.gaps[name]
        self.resolving.add(name)
        why = next((reason for s in self.assigners[name] if (reason := self._why_not(s, name))), None)
        self.resolving.discard(name)
        if why:
            self.gaps[name] = why
            return why
        self.statements.update(id(s) for s in self.assigners[name])
        self.defined.add(name)
        return None

    def _why_not(self, statement: ast.stmt, name: str) -> str | None:
        calls = sorted(_called_names(statement) & self.callables)
        if calls:
            return f"it is computed by calling the notebook's {calls[0]}(), which the graders do not run"
        if _called_names(statement) & _LOADS_DATA:
            return "it is loaded from the data, which the graders' worker does not load"
        for other in sorted(_read_names(statement) - {name}):   # earlier assignments of `name` itself come along
            reason = self.bring(other)
            if reason is not None:
                return f"it is computed from {other}, and {reason}"
        return None


def _guarded(stmt: ast.stmt) -> ast.stmt:
    """try: stmt / except Exception: pass"""
    return ast.Try(body=[stmt], handlers=[ast.ExceptHandler(type=ast.Name("Exception", ast.Load()), name=None,
                                                            body=[ast.Pass()])], orelse=[], finalbody=[])


def _executed_statements(notebook: Path) -> list[ast.stmt]:
    """Top-level statements of every executed code cell that parses. A cell that never ran earns nothing,
    here as everywhere."""
    # plain JSON: the executed notebook is papermill's nbformat 4 file, and importing nbformat (its schema
    # validator) would cost every grading process two seconds
    try:   # bounded and depth-checked: the cells and outputs are the student's
        cells = read_json(Path(notebook), MAX_NOTEBOOK_BYTES, "the executed notebook", max_depth=500).get("cells", [])
    except (UntrustedData, AttributeError) as exc:
        raise BadArtifact(f"the notebook cannot be read: {exc}") from None
    out = []
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code" or cell.get("execution_count") is None:
            continue
        source = cell.get("source", "")
        try:
            out += ast.parse(_MAGIC.sub("", "".join(source) if isinstance(source, list) else source)).body
        except SyntaxError:
            continue
    return out


def _is_literal(node) -> bool:
    try:
        ast.literal_eval(node)
        return True
    except ValueError:
        return False


def _bound(stmt) -> set[str]:
    """Names a top-level statement binds."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    return {name for t in targets for name in _target_names(t)}


def _plain_target(target) -> bool:
    return isinstance(target, ast.Name) or (isinstance(target, (ast.Tuple, ast.List)) and all(map(_plain_target, target.elts)))


def _target_names(target) -> set[str]:
    """The names an assignment target binds or modifies: `a`, `a, b`, and the `x` of `x[i]` or `x.attr`
    (never the names read inside the index)."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return {n for t in target.elts for n in _target_names(t)}
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    while isinstance(target, (ast.Subscript, ast.Attribute)):
        target = target.value
    return {target.id} if isinstance(target, ast.Name) else set()


def _read_names(node) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _bound_inside(node) -> set[str]:
    """Parameters and names assigned inside a function or class (an approximation of its locals)."""
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}
    names |= {a.arg for n in ast.walk(node) if isinstance(n, ast.arguments)
              for a in (*n.posonlyargs, *n.args, *n.kwonlyargs, *(x for x in (n.vararg, n.kwarg) if x))}
    names |= {n.name for n in ast.walk(node) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n is not node}
    names |= {(a.asname or a.name).split(".")[0] for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    return names


def _called_names(node) -> set[str]:
    """Names called directly (`f(...)`) or as the last part of an attribute (`np.load(...)` -> 'load')."""
    return {n.func.id if isinstance(n.func, ast.Name) else n.func.attr for n in ast.walk(node)
            if isinstance(n, ast.Call) and isinstance(n.func, (ast.Name, ast.Attribute))}
