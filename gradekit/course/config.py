"""Where things live in a course repository, and what an assignment declares about itself.

The engine knows folders and file names; everything specific to an assignment (its datasets, time
limits, points of manual items) is read from the assignment's own folder.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from gradekit.data.catalog import Catalog
from gradekit.errors import DeclarationError, NotInCourse, UnknownAssignment
from gradekit.course.feedback_policy import FeedbackPolicy
from gradekit.course.late_policy import LatePolicy
from gradekit.course.limits import Limits
from gradekit.course.tasks import TaskPlan
from gradekit.course.variants import VariantBook, VariantPolicy

PROFILES = ("smoke", "full")
# the keys of assignment.toml the kit reads; each has its parser below
DECLARED_KEYS = frozenset({"title", "datasets", "dataset", "limits", "tasks", "due", "late", "hand_in", "feedback", "variants", "preload"})


def default_data_root() -> Path:
    return Path(os.environ.get("DATA_ROOT") or "data").resolve()


@dataclass(frozen=True)
class Folders:
    """Where each student's submission is and where its run goes: <submitted>/<student>/<A> and
    <runs>/<student>/<A>; for the instructor's solution, source/<A> and solutions/<A> themselves."""

    submitted: Path
    runs: Path
    assignment: str
    solution: bool = False

    def submission(self, student: str) -> Path:
        return self.submitted if self.solution else self.submitted / student / self.assignment

    def run(self, student: str) -> Path:
        return self.runs if self.solution else self.runs / student / self.assignment

    def students(self) -> list[str]:
        """Every student with a submission."""
        if self.solution:
            return ["solution"]
        if not self.submitted.is_dir():
            return []
        return sorted(p.name for p in self.submitted.iterdir() if (p / self.assignment).exists())


@dataclass(frozen=True)
class ManualItem:
    """A cell the staff mark by hand; a bonus is marked outside the maximum."""

    id: str
    points: float
    bonus: bool = False


@dataclass(frozen=True)
class Course:
    """The course repository: source/, release/, solutions/, grader_tests/ and the run folders."""

    root: Path

    @classmethod
    def find(cls, start: Path | None = None) -> "Course":
        here = (start or Path.cwd()).resolve()
        for candidate in (here, *here.parents):
            if (candidate / "nbgrader_config.py").exists() and (candidate / "source").is_dir():
                return cls(candidate)
        raise NotInCourse(f"not inside a course repository (no nbgrader_config.py + source/ above {here})")

    def __getattr__(self, name: str) -> Path:  # source, release, solutions, submitted, ...
        if name in ("source", "release", "solutions", "grader_tests", "submitted",
                    "autograded", "marks", "feedback", "datasets"):
            return self.root / name
        raise AttributeError(name)

    def assignment(self, name: str) -> "Assignment":
        folder = self.source / name
        if not folder.is_dir():
            known = ", ".join(sorted(p.name for p in self.source.iterdir() if p.is_dir())) or "none"
            raise UnknownAssignment(f"no assignment {name!r} in {self.source} (known: {known})")
        return Assignment.load(self, name)

    def catalog(self) -> Catalog:
        """Every dataset the course and its assignments declare."""
        tomls = [(p, tomllib.loads(p.read_text())) for p in sorted(self.source.glob("*/assignment.toml"))]
        return Catalog.read(self.root, tomls)

    def students(self, submitted: Path | None = None, assignment: str | None = None) -> list[str]:
        base = submitted or self.submitted
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir()
                      if p.is_dir() and (assignment is None or (p / assignment).is_dir()))


@dataclass(frozen=True)
class Assignment:
    """One assignment, as declared by source/<name>/assignment.toml and its notebook."""

    course: Course
    name: str
    title: str
    datasets: tuple[str, ...]
    limits: dict[str, Limits] = field(default_factory=dict)
    declaration: dict = field(default_factory=dict)   # assignment.toml as read

    @classmethod
    def load(cls, course: Course, name: str) -> "Assignment":
        path = course.source / name / "assignment.toml"
        try:
            decl = tomllib.loads(path.read_text()) if path.exists() else {}
        except tomllib.TOMLDecodeError as exc:
            raise DeclarationError(f"{path}: not valid TOML: {exc}") from None
        limits = {}
        for profile in PROFILES:
            merged = {**decl.get("limits", {}), **decl.get("limits", {}).get(profile, {})}
            limits[profile] = Limits(**{k: v for k, v in merged.items() if k in Limits.__annotations__})
        return cls(course, name, decl.get("title", name), tuple(decl.get("datasets", ())), limits, decl)

    def folders(self, submitted: Path | None = None) -> Folders:
        """submitted/ (or another folder of submissions) -> autograded/."""
        return Folders(submitted or self.course.submitted, self.course.autograded, self.name)

    def solution_folders(self) -> Folders:
        """The instructor's solution: source/<A> -> solutions/<A>."""
        return Folders(self.source_notebook.parent, self.course.solutions / self.name, self.name, solution=True)

    def late_policy(self) -> LatePolicy:
        """`due` and `[late]`. Raises DeclarationError."""
        return LatePolicy.declared(self.declaration, str(self.declaration_file))

    def feedback_policy(self) -> FeedbackPolicy:
        """`[feedback]`: what the students' feedback shows. Raises DeclarationError."""
        return FeedbackPolicy.declared(self.declaration, str(self.declaration_file))

    def variant_policy(self) -> VariantPolicy | None:
        """`[variants]`, or None when every student gets the printed numbers. Raises DeclarationError."""
        return VariantPolicy.declared(self.declaration, str(self.declaration_file))

    def variant_book(self) -> VariantBook | None:
        """The students' stored variants (variants/<A>.json), or None without `[variants]`."""
        policy = self.variant_policy()
        return VariantBook.open(self.course.root, self.name, policy) if policy else None

    def course_files(self) -> dict[str, str]:
        """Files the course puts beside a student's notebook when it runs (name -> text): the variants module,
        as the release has it, so that a notebook may import it."""
        policy = self.variant_policy()
        path = self.source_notebook.parent / policy.module_file if policy else None
        return {path.name: path.read_text()} if path is not None and path.is_file() else {}

    def hand_in(self) -> frozenset[str]:
        """`hand_in = [...]`: files besides the notebook that students hand in."""
        names = self.declaration.get("hand_in", [])
        if not isinstance(names, list) or not all(isinstance(n, str) and n and "/" not in n for n in names):
            raise DeclarationError(f"{self.declaration_file}: hand_in must be a list of file names")
        return frozenset(names)

    def preload(self) -> tuple[str, ...]:
        """`preload = [...]`: the heavy modules its notebooks and graders import (torch, torchvision, ...): kernels
        and grading workers import them before a submission comes, so that no student waits for them."""
        names = self.declaration.get("preload", [])
        if not isinstance(names, list) or not all(isinstance(n, str) and _MODULE.fullmatch(n) for n in names):
            raise DeclarationError(f"{self.declaration_file}: preload must be a list of module names, e.g. [\"torch\"]")
        missing = [n for n in names if importlib.util.find_spec(n.split(".")[0]) is None]
        if missing:   # the kernels run this interpreter: what it lacks, they lack
            raise DeclarationError(f"{self.declaration_file}: preload names {', '.join(missing)}, not installed here")
        return tuple(names)

    def unread_keys(self) -> list[str]:
        """Keys of assignment.toml the kit does not read (a typo, or a key of another tool)."""
        return sorted(set(self.declaration) - DECLARED_KEYS)

    def problems(self) -> list[str]:
        """Every declaration problem, found by the same parsers the kit reads with (`gradekit check`)."""
        found = _limit_problems(self.declaration.get("limits", {}))
        for parse in (self.late_policy, self.hand_in, self.feedback_policy, self.variant_policy, self.preload,
                      lambda: TaskPlan.declared(self.declaration.get("tasks"))):
            try:
                parse()
            except DeclarationError as exc:
                found.append(str(exc).replace(f"{self.declaration_file}: ", ""))
        return found

    def tasks(self) -> TaskPlan:
        """The declared tasks, knowing what each submits in the solution notebook."""
        plan = TaskPlan.declared(self.declaration.get("tasks"))
        if not plan.declared_any or not self.source_notebook.exists():
            return plan
        return plan.with_submits(json.loads(self.source_notebook.read_text())["cells"])

    @property
    def declaration_file(self) -> Path:
        return self.course.source / self.name / "assignment.toml"

    def catalog(self) -> Catalog:
        """The datasets this assignment uses, as the course and the assignment declare them."""
        return Catalog.read(self.course.root, [(self.declaration_file, self.declaration)], uses=list(self.datasets))

    @property
    def notebook_name(self) -> str:
        return f"{self.name}.ipynb"

    @property
    def source_notebook(self) -> Path:
        return self.course.source / self.name / self.notebook_name

    @property
    def release_dir(self) -> Path:
        return self.course.release / self.name

    @property
    def grader_dir(self) -> Path:
        return self.course.grader_tests / self.name

    def manual_items(self) -> list[ManualItem]:
        """Manually graded cells of the source notebook (nbgrader markup: `grade` and `solution`, Markdown or
        code): id, points, and whether they are a bonus (cell metadata `"gradekit": {"bonus": true}`: marked
        by the staff, outside the maximum)."""
        nb = json.loads(self.source_notebook.read_text())
        items = []
        for cell in nb["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and meta.get("solution"):   # a manual answer: Markdown, or code read by the staff
                items.append(ManualItem(meta["grade_id"], float(meta.get("points", 0)),
                                        bool(cell["metadata"].get("gradekit", {}).get("bonus"))))
        return items


_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _limit_problems(limits: dict) -> list[str]:
    """Unknown keys of `[limits]`, `[limits.smoke]` and `[limits.full]`."""
    valid, found = Limits.keys(), []
    tables = {"": limits, **{p: limits[p] for p in PROFILES if isinstance(limits.get(p), dict)}}
    for profile, table in tables.items():
        for key in table:
            if key in PROFILES and not profile:
                continue
            if key not in valid:
                where = f"[limits{'.' + profile if profile else ''}]"
                found.append(f"{where}: unknown key '{key}' (valid: {', '.join(valid)})")
    return found
