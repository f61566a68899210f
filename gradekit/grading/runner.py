"""`gradekit grade`: one pytest process per student over grader_tests/<assignment>/ -> grade.json."""
from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from gradekit.course import Assignment
from gradekit.records import GRADE_FILE, GradeReport


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
              seed: int, jobs: int) -> dict[str, GradeReport]:
    results = {}
    bar = tqdm(total=len(students), unit="submission", desc=f"grade {assignment.name}", dynamic_ncols=True)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(grade_one, assignment, autograded / s / assignment.name, data_root=data_root,
                               profile=profile, seed=seed): s for s in students}
        for future in as_completed(futures):
            student = futures[future]
            results[student] = r = future.result()
            bar.set_postfix_str(student)
            bar.update(1)
            flag = f"  [NEEDS ATTENTION: {r.attention[0][:80]}]" if r.attention else ""
            bar.write(f"  {student}: {r.total:g} / {r.max:g}{flag}")
    bar.close()
    return results
