"""`gradekit solve`: the instructor solution through the same pipeline, into solutions/<A>/.

The source notebook goes through the batch driver exactly like a submission (the run stage: sandbox,
injected parameters; then the grading stage). A solution that does not earn every auto point is a broken
assignment, and solve says so."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from gradekit.batch.driver import drive
from gradekit.batch.settings import Settings
from gradekit.course import Assignment
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


def solve(assignment: Assignment, settings: Settings) -> Solved:
    folders = assignment.solution_folders()
    executor = LocalPool(1)
    record = drive(RunStage(assignment, settings, folders, force=True), ["solution"], executor)["solution"]
    graded = replace(settings, profile=record.profile or settings.profile)
    grade = drive(GradeStage(assignment, graded, folders, ["solution"]), ["solution"], executor)["solution"]
    lost = [f"{i.id}: {i.reason}" for i in grade.items if i.points < i.max]
    return Solved(record.status, record.reason, record.duration_s, grade.total, grade.max, lost, grade.attention)
