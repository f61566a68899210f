"""`gradekit grade`: one pytest process per student over grader_tests/<assignment>/ -> grade.json."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tqdm import tqdm

from gradekit import atomic
from gradekit.course import Assignment
from gradekit.records import GRADE_FILE, GradeReport
from gradekit.scale.executors import Call, Failed, LocalPool, show_in_flight


def grade_one(assignment: Assignment, run_dir: Path, *, data_root: Path, profile: str, seed: int,
              timeout_s: float = 3600) -> GradeReport:
    report = run_dir / GRADE_FILE
    report.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pytest", str(assignment.grader_dir), "-p", "gradekit.grading.plugin",
           "-p", "no:cacheprovider", "--assert=plain", "-q", "--no-header", "-rN", "--tb=line",
           f"--rootdir={assignment.grader_dir}", f"--gk-run-dir={run_dir}", f"--gk-report={report}",
           f"--gk-data-root={data_root}", f"--gk-profile={profile}", f"--gk-seed={seed}",
           f"--gk-course={assignment.course.root}", f"--gk-assignment={assignment.name}"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd=assignment.grader_dir)
        output, code = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired:
        output, code = f"grading took longer than {timeout_s} s", None
    (run_dir / "grade.log").write_text(output)
    result = GradeReport.load(run_dir)
    if code not in (0, 1) or result is None:  # 0 all passed, 1 some failed; others: pytest itself broke
        result = GradeReport(profile=profile, grading_error=f"pytest exited {code}: {output[-800:]}")
        result.save(run_dir)
    return result


def grade_all(assignment: Assignment, autograded: Path, students: list[str], *, data_root: Path, profile: str,
              seed: int, jobs: int, executor=None, unsandboxed: bool = False) -> dict[str, GradeReport]:
    executor = executor or LocalPool(jobs)
    results = {}
    if executor.remote:
        from gradekit.scale import transfer
        from gradekit.scale.remote import grade_packed
        catalog = assignment.catalog()
        calls = [Call(s, grade_packed, (assignment, s, transfer.pack(autograded / s / assignment.name), catalog,
                                        data_root, profile, seed, unsandboxed)) for s in students]
    else:
        calls = [Call(s, _grade_here, (assignment, autograded / s / assignment.name, data_root, profile, seed))
                 for s in students]
    bar = tqdm(total=len(students), unit="submission", desc=f"grade {assignment.name}", dynamic_ncols=True)
    for call, outcome in executor.results(calls, show_in_flight(bar)):
        student = call.key
        r = _report(autograded / student / assignment.name, outcome, profile)
        if r is None:
            bar.write(f"  {student}: NOT GRADED: worker {outcome.worker} is not ready: {outcome.reason[:300]}")
        else:
            results[student] = r
            flag = f"  [NEEDS ATTENTION: {r.attention[0][:80]}]" if r.attention else ""
            bar.write(f"  {student}: {r.total:g} / {r.max:g}{flag}")
        bar.update(1)
    bar.close()
    return results


def _grade_here(assignment, run_dir, data_root, profile, seed):
    return grade_one(assignment, run_dir, data_root=data_root, profile=profile, seed=seed)


def _report(run_dir: Path, outcome, profile: str) -> GradeReport | None:
    """The grade report; a remote one is written into the run folder here."""
    from gradekit.scale.remote import Refused
    if isinstance(outcome, GradeReport):
        return outcome
    if isinstance(outcome, Refused):
        return None
    if isinstance(outcome, Failed):   # the grading machinery failed: staff's to look at, never the student's zero
        report = GradeReport(profile=profile, grading_error=f"grading failed: {outcome.reason}")
    else:
        grade_text, log = outcome
        (run_dir / "grade.log").write_text(log)
        atomic.write_text(run_dir / GRADE_FILE, grade_text)
        report = GradeReport.load(run_dir)
        if report is not None:
            return report
        report = GradeReport(profile=profile, grading_error="the worker's grade.json could not be read")
    report.save(run_dir)
    return report
