"""`gradekit solve`: the instructor solution through the same pipeline, into solutions/<A>/.

The source notebook is run exactly like a submission (sandbox, injected parameters), then graded.
A solution that does not earn every auto point is a broken assignment, and solve says so."""
from __future__ import annotations

from pathlib import Path

from gradekit.course import Assignment
from gradekit.grading.runner import grade_one
from gradekit.run import execute
from gradekit.run.batch import make_job


def solve(assignment: Assignment, *, profile: str, data_root: Path, seed: int, device: str) -> dict:
    dest = assignment.course.solutions / assignment.name
    job = make_job(assignment, "solution", assignment.source_notebook.parent, dest, profile=profile,
                   data_root=data_root, seed=seed, device=device)
    record = execute.run(job)
    grade = grade_one(assignment, dest, data_root=data_root, profile=profile, seed=seed)
    lost = [f"{i.id}: {i.reason}" for i in grade.items if i.points < i.max]
    return {"run": record.status, "reason": record.reason, "duration_s": record.duration_s,
            "total": grade.total, "max": grade.max, "lost": lost, "needs_attention": grade.attention}
