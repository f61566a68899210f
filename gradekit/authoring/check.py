"""`gradekit check A`: read an assignment without running anything of it and report, with file and cell,
what would otherwise fail later: nbgrader metadata nbgrader rejects, duplicate ids, unknown `[limits]`
keys, datasets used but not declared, answers the graders read that the solution never submits, and the
points of the graders and the manual cells. `release` and `solve` run it first."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from gradekit.authoring.graders import collect_items
from gradekit.course import Assignment
from gradekit.course.tasks import TaskDeclarationError, TaskPlan, matches, submitted
from gradekit.course.variants import PRINTED, compute, item_matches
from gradekit.errors import DeclarationError, VariantError

# nbgrader's schema (nbgraderformat/v3.json): ids are letters, digits, _ and -
NBGRADER_ID = re.compile(r"^[a-zA-Z0-9_\-]+$")
# the notebook's data helpers and the graders' fixtures that name a dataset in their first argument
NOTEBOOK_DATA_CALLS = {"load_dataset", "dataset_path", "load_pretrained", "pretrained_weights", "is_standin"}
GRADER_DATA_CALLS = {"load", "test_split", "path", "pretrained_state", "is_standin", "smoke_note", "provenance", "require"}
READ_CALLS = {"answer": "answer", "number": "answer", "numbers": "answer", "mapping": "answer",
              "exported": "model", "model": "model", "state_dict": "state_dict", "arrays": "arrays"}


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    auto_points: float = 0
    manual_points: float = 0
    bonus_points: float = 0

    def summary(self, points: bool = True) -> str:
        lines = [f"error: {e}" for e in self.errors] + [f"warning: {w}" for w in self.warnings]
        if not points:
            return "\n".join(lines)
        bonus = f" (+{self.bonus_points:g} bonus)" if self.bonus_points else ""
        lines.append(f"points: {self.auto_points:g} auto (graders) + {self.manual_points:g} manual (notebook) = "
                     f"{self.auto_points + self.manual_points:g}{bonus}")
        return "\n".join(lines)


def check(assignment: Assignment, *, items: bool = True) -> Report:
    report = Report()
    nb_path = assignment.source_notebook
    if not nb_path.exists():
        report.errors.append(f"{nb_path}: no source notebook (the notebook is source/<A>/<A>.ipynb)")
        return report
    nb = nbformat.read(nb_path, as_version=4)
    _check_cells(nb, nb_path, report)
    _check_declaration(assignment, report)
    _check_tasks(assignment, nb, report)
    declared = set(assignment.datasets)
    resolve = _dataset_names(assignment)
    used_nb = [resolve(n) for n in _first_string_args(_code_of(nb), NOTEBOOK_DATA_CALLS)]
    graders = sorted(assignment.grader_dir.glob("*.py")) if assignment.grader_dir.is_dir() else []
    if not graders:
        report.errors.append(f"{assignment.grader_dir}: no graders (grader_tests/<A>/test_*.py)")
    grader_code = {g: g.read_text() for g in graders}
    used_graders = {resolve(name): g for g, text in grader_code.items() for name in _first_string_args(text, GRADER_DATA_CALLS)}
    for name in sorted(set(used_nb) - declared):
        report.errors.append(f"{nb_path.name}: loads dataset '{name}', which assignment.toml's `datasets` does not list")
    for name in sorted(set(used_graders) - declared):
        report.errors.append(f"{used_graders[name].name}: uses dataset '{name}', which assignment.toml's `datasets` does not list")
    _check_submissions(nb, nb_path, grader_code, report)
    if items and graders:
        _count_points(assignment, report, _code_of(nb))
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and meta.get("solution"):
            points = float(meta.get("points", 0) or 0)
            if cell.metadata.get("gradekit", {}).get("bonus"):
                report.bonus_points += points
            else:
                report.manual_points += points
    return report


def _dataset_names(assignment: Assignment):
    """A name as the helper resolves it (any case, or the torchvision class / model it loads) -> the
    course's declared name; unknown names stay as they are."""
    entries = {d.name: d.for_students() for d in assignment.course.catalog()}

    def resolve(name: str) -> str:
        for key, entry in entries.items():
            if name.lower() == key.lower() or name in (entry.get("loader"), entry.get("model")):
                return key
        return name
    return resolve


def _code_of(nb) -> str:
    return "\n".join(re.sub(r"^\s*[%!].*$", "", c.source, flags=re.M) for c in nb.cells if c.cell_type == "code")


def _check_cells(nb, path: Path, report: Report) -> None:
    """nbgrader's own rules (nbgraderformat v3), said with the cell they are about."""
    seen: dict[str, int] = {}
    for number, cell in enumerate(nb.cells, start=1):
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        where = f"{path.name}, cell {number}"
        gid = meta.get("grade_id", "")
        if (meta.get("grade") or meta.get("solution") or meta.get("locked")) and not gid:
            report.errors.append(f"{where}: an nbgrader cell without a grade_id")
            continue
        if gid and not NBGRADER_ID.match(gid):
            report.errors.append(f"{where}: grade_id '{gid}' has characters nbgrader rejects: use letters, digits, _ "
                                 "and - (dotted ids such as 'q1.2' are for grader items, not cells: write 'q1-2')")
        if gid in seen:
            report.errors.append(f"{where}: grade_id '{gid}' is also cell {seen[gid]}'s; nbgrader needs them unique")
        seen.setdefault(gid, number)
        if meta.get("grade") and "points" not in meta:
            report.errors.append(f"{where} ('{gid}'): a graded cell needs points")
        if cell.cell_type == "markdown" and not meta.get("task") and bool(meta.get("grade")) != bool(meta.get("solution")):
            report.errors.append(f"{where} ('{gid}'): a Markdown answer must be both `grade` and `solution` "
                                 "(a manually graded answer)")
        for key in ("grade", "solution", "locked"):
            if key not in meta:
                report.errors.append(f"{where} ('{gid}'): nbgrader metadata lacks '{key}'")


def _check_declaration(assignment: Assignment, report: Report) -> None:
    """assignment.toml through the parsers the kit reads it with: check cannot disagree with them."""
    report.errors += [f"assignment.toml {problem}" for problem in assignment.problems()]
    report.warnings += [f"assignment.toml: key '{key}' is not read by the kit" for key in assignment.unread_keys()]


def _check_tasks(assignment: Assignment, nb, report: Report) -> None:
    try:
        plan = TaskPlan.declared(assignment.declaration.get("tasks"))
    except TaskDeclarationError:   # reported with the declaration's problems
        return
    for selector in [s.at for s in plan.starts] + list(plan.setup):
        if not any(matches(cell, selector) for cell in nb.cells):
            report.errors.append(f"assignment.toml [tasks]: no cell of {assignment.notebook_name} has the id, nbgrader "
                                 f"id or tag '{selector}'")


def _first_string_args(code: str, functions: set[str]) -> list[str]:
    """First positional string arguments of calls to these functions (by name or attribute)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name in functions:
                found.append(node.args[0].value)
    return found


def _check_submissions(nb, nb_path: Path, grader_code: dict[Path, str], report: Report) -> None:
    literal, patterns = submitted(_code_of(nb))
    for grader, text in grader_code.items():
        for call, kind in READ_CALLS.items():
            for qid in _first_string_args(text, {call}):
                if qid in literal[kind] or any(p.match(qid) for p in patterns[kind]):
                    continue
                report.errors.append(f"{grader.name}: reads {kind} '{qid}' ({call}), which {nb_path.name} never "
                                     f"submits (submit.{kind}(\"{qid}\", ...))")


def _count_points(assignment: Assignment, report: Report, code: str) -> None:
    """The graders' items and points, as pytest collects them (nothing is graded), and their public checks."""
    try:
        items = collect_items(assignment)
    except DeclarationError as exc:
        report.errors.append(str(exc))
        return
    report.auto_points = sum(item["points"] for item in items)
    _check_public(items, code, report)
    _check_variants(assignment, items, report)


def _check_variants(assignment: Assignment, items: list[dict], report: Report) -> None:
    """`[variants]`: the function gives storable values, the same twice for a seed; its items and tasks exist."""
    try:
        policy = assignment.variant_policy()
    except DeclarationError:   # reported with the declaration's problems
        return
    if policy is None:
        return
    source = assignment.source_notebook.parent
    try:
        for seed in (PRINTED, 1, 2):
            if compute(source, policy, seed) != compute(source, policy, seed):
                report.errors.append(f"assignment.toml [variants]: {policy.function}({seed}) gives other values each call")
    except VariantError as exc:
        report.errors.append(f"assignment.toml [variants]: {exc}")
    for pattern in policy.items:
        if not any(item_matches(item["id"], [pattern]) for item in items):
            report.errors.append(f"assignment.toml [variants] items: '{pattern}' is no item of the graders")
    tasks = {start.name for start in assignment.tasks().starts}
    for name in policy.tasks:
        if name not in tasks:
            report.errors.append(f"assignment.toml [variants] tasks: '{name}' is not a task of [tasks]")


PUBLIC_KINDS = {"model": "model", "state_dict": "state_dict", "arrays": "arrays"}   # else an answer (or a function)


def _check_public(items: list[dict], code: str, report: Report) -> None:
    """Each item has public checks, and what they name is what the solution submits or defines."""
    literal, patterns = submitted(code)
    defined = {n.name for n in ast.walk(ast.parse(code)) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    for item in items:
        if not item["evidence"]:
            report.warnings.append(f"item {item['id']}: no @pytest.mark.public check; submit.check() can say nothing about it")
        for ev in item["evidence"]:
            if ev["kind"] in ("function", "defined"):
                if ev["name"] not in defined:
                    report.errors.append(f"item {item['id']}: its public check calls {ev['name']}(), which the solution never defines")
                continue
            kind, name = PUBLIC_KINDS.get(ev["kind"], "answer"), ev.get("key") or ev.get("name")
            if name not in literal[kind] and not any(p.match(name) for p in patterns[kind]):
                report.errors.append(f"item {item['id']}: its public check names {kind} '{name}', which the solution "
                                     f"never submits")