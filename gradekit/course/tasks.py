"""An assignment's tasks: the ranges of cells a failure is confined to, and the setup cells every task needs.

Declared in assignment.toml (trusted; a student's notebook cannot move a task boundary):

    [tasks]
    setup = ["hw-setup"]                       # replayed, after the parameters cell, when a kernel is restarted
    starts = [{ name = "Task 2 – MLP", at = "hw-t2-text" }, ...]

`at` and `setup` name cells by nbgrader grade_id, cell id or tag. A task runs from its start to the next
task's start; cells before the first start form the preamble. A notebook whose cells match no start is one
task (the behaviour of a notebook without tasks).

The plan also says what each task submits, read from the solution notebook's `submit.*("name", ...)` calls,
so that a grader's "model 'x' was not submitted" can cite the failure of the task that makes x.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from gradekit.errors import TaskDeclarationError

PREAMBLE = "Preamble"      # cells before the first declared task
WHOLE = "Notebook"         # the one task of a notebook whose cells match no declared start
SKIPPED = "skipped"        # papermill status of a cell left out because its task had stopped
SUBMIT_CALLS = ("answer", "model", "arrays", "state_dict")


@dataclass(frozen=True)
class TaskStart:
    name: str
    at: str          # nbgrader grade_id, cell id or tag of the task's first cell


@dataclass(frozen=True)
class TaskPlan:
    setup: tuple[str, ...] = ()
    starts: tuple[TaskStart, ...] = ()
    submits: tuple[tuple[str, tuple[str, ...]], ...] = ()   # task name -> patterns of "kind:name" it submits

    @classmethod
    def declared(cls, table: dict | None) -> "TaskPlan":
        if not table:
            return cls()
        if not isinstance(table, dict):
            raise TaskDeclarationError("[tasks] must be a table with `setup` and `starts`")
        unknown = sorted(set(table) - {"setup", "starts"})
        if unknown:
            raise TaskDeclarationError(f"[tasks]: unknown key '{unknown[0]}' (valid: setup, starts)")
        setup = table.get("setup", [])
        starts = table.get("starts", [])
        if not (isinstance(setup, list) and all(isinstance(s, str) for s in setup)):
            raise TaskDeclarationError("[tasks] setup must be a list of cell ids, nbgrader ids or tags")
        parsed = []
        for entry in starts if isinstance(starts, list) else [None]:
            if not (isinstance(entry, dict) and set(entry) == {"name", "at"}
                    and all(isinstance(v, str) and v for v in entry.values())):
                raise TaskDeclarationError('[tasks] starts must be a list of { name = "Task 2", at = "<cell>" }')
            parsed.append(TaskStart(entry["name"], entry["at"]))
        names = [s.name for s in parsed]
        if len(set(names)) != len(names) or {PREAMBLE, WHOLE} & set(names):
            raise TaskDeclarationError(f"[tasks] starts: task names must be unique, and neither '{PREAMBLE}' nor '{WHOLE}'")
        return cls(tuple(setup), tuple(parsed))

    @property
    def declared_any(self) -> bool:
        return bool(self.starts)

    def with_submits(self, solution_cells: list) -> "TaskPlan":
        """The plan, knowing what each task of the solution notebook submits."""
        found: dict[str, list[str]] = {}
        for task, cells in self.split(solution_cells).items():
            code = "\n".join(_source(solution_cells[i]) for i in cells if solution_cells[i].get("cell_type") == "code")
            found[task] = submit_patterns(code)
        return TaskPlan(self.setup, self.starts, tuple((t, tuple(p)) for t, p in found.items()))

    def split(self, cells: list) -> dict[str, list[int]]:
        """task name -> indices of its cells, in notebook order (a dict keeps the tasks' order)."""
        begins = {}
        for start in self.starts:
            index = next((i for i, c in enumerate(cells) if matches(c, start.at)), None)
            if index is not None and index not in begins:
                begins[index] = start.name
        current = PREAMBLE if begins else WHOLE
        tasks: dict[str, list[int]] = {current: []}
        for i in range(len(cells)):
            current = begins.get(i, current)
            tasks.setdefault(current, []).append(i)
        return {name: cells for name, cells in tasks.items() if cells}

    def setup_cells(self, cells: list) -> list[int]:
        return [i for i, c in enumerate(cells) if any(matches(c, s) for s in self.setup)]

    def to_dict(self) -> dict:
        return {"setup": list(self.setup), "starts": [{"name": s.name, "at": s.at} for s in self.starts],
                "submits": {task: list(p) for task, p in self.submits}}

    @classmethod
    def from_dict(cls, data: dict) -> "TaskPlan":
        return cls(tuple(data.get("setup", ())), tuple(TaskStart(s["name"], s["at"]) for s in data.get("starts", ())),
                   tuple((t, tuple(p)) for t, p in data.get("submits", {}).items()))


def matches(cell, selector: str) -> bool:
    meta = cell.get("metadata", {})
    return (selector == cell.get("id") or selector == (meta.get("nbgrader") or {}).get("grade_id")
            or selector in (meta.get("tags") or []))


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def submitted(code: str) -> tuple[dict[str, set[str]], dict[str, list[re.Pattern]]]:
    """What code submits by kind ('answer', 'model', 'arrays', 'state_dict'): literal ids, and patterns for
    f-string ids (f"q1.3.{name}" -> q1\\.3\\..*); a computed id may be anything."""
    literal: dict[str, set[str]] = {k: set() for k in SUBMIT_CALLS}
    patterns: dict[str, list[re.Pattern]] = {k: [] for k in SUBMIT_CALLS}
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return literal, patterns
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SUBMIT_CALLS
                and node.args):
            continue
        first, kind = node.args[0], node.func.attr
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            literal[kind].add(first.value)
        elif isinstance(first, ast.JoinedStr):
            parts = [re.escape(v.value) if isinstance(v, ast.Constant) else ".+" for v in first.values]
            patterns[kind].append(re.compile("".join(parts) + "$"))
        else:
            patterns[kind].append(re.compile(".+$"))
    return literal, patterns


def submit_patterns(code: str) -> list[str]:
    """`submitted` as patterns over "kind:name", the form a run record carries."""
    literal, patterns = submitted(code)
    found = [re.escape(f"{kind}:{name}") for kind in SUBMIT_CALLS for name in sorted(literal[kind])]
    # a computed id (a helper's `submit.model(name, ...)`) says nothing about which task makes what
    return found + [f"{re.escape(kind)}:{p.pattern.rstrip('$')}" for kind in SUBMIT_CALLS for p in patterns[kind]
                    if p.pattern != ".+$"]

