"""`gradekit solve`: the instructor solution through the same pipeline, into solutions/<A>/.

The source notebook goes through the batch driver exactly like a submission (the run stage: sandbox,
injected parameters; then the grading stage). A solution that does not earn every auto point is a broken
assignment, and solve says so."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from gradekit.batch.driver import drive
from gradekit.batch.settings import Settings
from gradekit.course import Assignment, Folders
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


def run_and_grade(assignment: Assignment, settings: Settings, folders: Folders, student: str):
    """One submission through the batch's own two stages, forced: (RunRecord, GradeReport). Graded with the
    profile it ran with."""
    executor = LocalPool(1)
    record = drive(RunStage(assignment, settings, folders, force=True), [student], executor)[student]
    graded = replace(settings, profile=record.profile or settings.profile)
    return record, drive(GradeStage(assignment, graded, folders, [student]), [student], executor)[student]


def solve(assignment: Assignment, settings: Settings) -> Solved:
    record, grade = run_and_grade(assignment, settings, assignment.solution_folders(), "solution")
    lost = [f"{i.id}: {i.reason}" for i in grade.items if i.points < i.max]
    return Solved(record.status, record.reason, record.duration_s, grade.total, grade.max, lost, grade.attention)
