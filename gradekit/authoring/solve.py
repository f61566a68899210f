"""`gradekit solve`: the instructor solution through the same pipeline, into solutions/<A>/.

The source notebook goes through the batch driver exactly like a submission (the run stage: sandbox,
injected parameters; then the grading stage). A solution that does not earn every auto point is a broken
assignment, and solve says so."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import nbformat

from gradekit.batch.driver import drive
from gradekit.batch.settings import Settings
from gradekit.course import Assignment, Folders
from gradekit.course.tasks import PREAMBLE
from gradekit.course.variants import Variant
from gradekit.errors import VariantError
from gradekit.grading.stage import GradeStage
from gradekit.platform.executors import LocalPool
from gradekit.run.stage import RunStage


@dataclass(frozen=True)
class Solved:
    run: str
    reason: str
    duration_s: float
    total: float
    max: float
    lost: list[str] = field(default_factory=list)
    needs_attention: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.total == self.max and not self.needs_attention

    def to_dict(self) -> dict:
        return asdict(self)


def run_and_grade(assignment: Assignment, settings: Settings, folders: Folders, student: str,
                  variants: dict[str, Variant] | None = None):
    """One submission through the batch's own two stages, forced: (RunRecord, GradeReport). Graded with the
    profile it ran with. `variants`: default the course's stored ones."""
    executor = LocalPool(1)
    record = drive(RunStage(assignment, settings, folders, force=True, variants=variants), [student], executor)[student]
    graded = replace(settings, profile=record.profile or settings.profile)
    stage = GradeStage(assignment, graded, folders, [student], variants)
    return record, drive(stage, [student], executor)[student]


def solve(assignment: Assignment, settings: Settings) -> Solved:
    record, grade = run_and_grade(assignment, settings, assignment.solution_folders(), "solution")
    lost = [f"{i.id}: {i.reason}" for i in grade.items if i.points < i.max]
    return Solved(record.status, record.reason, record.duration_s, grade.total, grade.max, lost, grade.attention)


@dataclass(frozen=True)
class SolvedVariant:
    name: str
    seed: int
    run: str
    total: float
    max: float
    lost: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def solve_variants(assignment: Assignment, settings: Settings, count: int, folder: Path) -> list[SolvedVariant]:
    """The solution on `count` variants made from the course secret (variant-01, ...; not stored), under
    `folder`: only the setup and the tasks `[variants]` names run, and only its items are graded. Raises
    VariantError without `[variants]`."""
    book = assignment.variant_book()
    if book is None:
        raise VariantError(f"{assignment.name} declares no [variants]")
    variants = {f"variant-{i:02d}": book.make(f"variant-{i:02d}") for i in range(1, count + 1)}
    cells = trimmed(assignment, book.policy.tasks)
    for name in variants:
        submission = folder / "submitted" / name / assignment.name
        submission.mkdir(parents=True, exist_ok=True)
        nbformat.write(cells, submission / assignment.notebook_name)
    folders = Folders(folder / "submitted", folder / "autograded", assignment.name)
    executor = LocalPool(settings.jobs)
    records = drive(RunStage(assignment, settings, folders, settings.jobs, True, variants), list(variants), executor)
    graded = replace(settings, profile=next(iter(records.values())).profile or settings.profile)
    stage = GradeStage(assignment, graded, folders, list(variants), variants, book.policy.items)
    grades = drive(stage, list(variants), executor)
    return [SolvedVariant(name, v.seed, records[name].status, grades[name].total, grades[name].max,
                          [f"{i.id}: {i.reason}" for i in grades[name].items if i.points < i.max] + grades[name].attention)
            for name, v in variants.items()]


def trimmed(assignment: Assignment, tasks: tuple[str, ...]):
    """The solution notebook with only the cells before the first task and those of `tasks` (all: no tasks)."""
    nb = nbformat.read(assignment.source_notebook, as_version=4)
    if not tasks:
        return nb
    split = assignment.tasks().split(nb.cells)
    keep = sorted(i for name, cells in split.items() if name in tasks or name == PREAMBLE for i in cells)
    nb.cells = [nb.cells[i] for i in keep]
    return nb
