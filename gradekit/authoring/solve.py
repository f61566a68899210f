"""`gradekit solve`: the instructor solution through the same pipeline, into solutions/<A>/.

The source notebook is run exactly like a submission (the run stage's job, sandbox, injected parameters),
then graded by the grading stage's grader. A solution that does not earn every auto point is a broken
assignment, and solve says so."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from gradekit.batch.settings import Settings
from gradekit.course import Assignment
from gradekit.grading.stage import grade_one
from gradekit.run import execute
from gradekit.run.stage import make_job


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
    dest = assignment.course.solutions / assignment.name
    job = make_job(assignment, "solution", assignment.source_notebook.parent, dest, settings)
    record = execute.run(job)
    grade = grade_one(assignment, dest, data_root=settings.data_root, profile=job.profile, seed=settings.seed)
    lost = [f"{i.id}: {i.reason}" for i in grade.items if i.points < i.max]
    return Solved(record.status, record.reason, record.duration_s, grade.total, grade.max, lost, grade.attention)
