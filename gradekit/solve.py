"""`gradekit solve`: the instructor solution through the same pipeline, into solutions/<A>/.

The source notebook is run exactly like a submission (sandbox, injected parameters), then graded.
A solution that does not earn every auto point is a broken assignment, and solve says so."""
from __future__ import annotations

from pathlib import Path

from gradekit import execute
from gradekit.batch import data_provenance
from gradekit.course import Assignment
from gradekit.grading.runner import grade_one


def solve(assignment: Assignment, *, profile: str, data_root: Path, seed: int, device: str) -> dict:
    dest = assignment.course.solutions / assignment.name
    job = execute.Job(assignment.name, "solution", assignment.source_notebook.parent, dest, profile, data_root,
                      seed, device, assignment.limits[profile], data_provenance(assignment, data_root))
    record = execute.run(job)
    grade = grade_one(assignment, dest, data_root=data_root, profile=profile, seed=seed)
    lost = [f"{i['id']}: {i['reason']}" for i in grade.get("items", []) if i["points"] < i["max"]]
    return {"run": record["status"], "reason": record["reason"], "duration_s": record["duration_s"],
            "total": grade.get("total", 0), "max": grade.get("max", 0), "lost": lost,
            "grading_error": grade.get("grading_error")}
