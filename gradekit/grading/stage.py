"""Grading, as a stage of the batch driver: one pytest process per student over grader_tests/<assignment>/
-> grade.json, here or on a cluster worker. Each run is graded with the profile and seed it was made with."""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from gradekit.batch.driver import Ready, Work
from gradekit.batch.settings import Settings
from gradekit.course import Assignment, Folders
from gradekit.errors import ProfileMismatch
from gradekit.platform import transfer
from gradekit.platform.executors import Failed, Refused, worker_name
from gradekit.records import GRADE_FILE, SANDBOX_FAILED, GradeReport, RunRecord
from gradekit.platform.untrusted import UntrustedData, load_json

MAX_GRADE_BYTES = 16 << 20


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


def graded_profiles(folders: Folders, students: list[str], asked: str | None) -> dict[str, str]:
    """student -> the profile to grade with: the one its run was made with (run.json). Raises
    ProfileMismatch, before anything is graded, when `asked` differs from a run's."""
    found = {}
    for student in students:
        run = RunRecord.load(folders.run(student))
        found[student] = (run.profile if run is not None and run.profile else None) or asked or "smoke"
    wrong = sorted(s for s, p in found.items() if asked and p != asked)
    if wrong:
        raise ProfileMismatch(f"--profile {asked}: {', '.join(wrong[:5])}{' and more' if len(wrong) > 5 else ''} "
                              f"{'was' if len(wrong) == 1 else 'were'} run with profile {found[wrong[0]]}; grade "
                              f"without --profile (each run is graded with its own), or run again with --profile {asked}")
    return found


class GradeStage:
    verb = "grade"

    def __init__(self, assignment: Assignment, settings: Settings, folders: Folders, students: list[str]):
        """Raises ProfileMismatch when settings.profile differs from a run's (None grades each with its own)."""
        self.assignment, self.settings, self.folders = assignment, settings, folders
        self.profiles = graded_profiles(folders, students, settings.profile)
        self.ready = Ready(assignment.catalog(), settings.data_root, settings.unsandboxed)
        self.label = f"grade {assignment.name}"

    def run_dir(self, student: str) -> Path:
        return self.folders.run(student)

    def settled(self, student: str) -> GradeReport | None:
        run = RunRecord.load(self.run_dir(student))
        if run is not None and run.status == SANDBOX_FAILED:   # the machinery's failure: staff's, not a zero
            report = GradeReport(profile=self.profiles[student],
                                 grading_error=f"the run did not complete on our side: {run.reason[:300]}")
            report.save(self.run_dir(student))
            return report
        return None

    def work(self, student: str, remote: bool, same_machine: bool) -> Work:
        run_dir, profile = self.run_dir(student), self.profiles[student]
        run = RunRecord.load(run_dir)
        seed = run.seed if run is not None and run.input_sha256 else self.settings.seed   # what the notebook ran with
        if remote:
            return Work(grade_packed, (self.assignment, student, transfer.pack(run_dir), self.settings.data_root,
                                       profile, seed))
        return Work(_grade_here, (self.assignment, run_dir, self.settings.data_root, profile, seed))

    def take(self, student: str, outcome: object) -> GradeReport | Refused:
        """The grade report; a remote one is checked and written into the run folder here."""
        if isinstance(outcome, (GradeReport, Refused)):
            return outcome
        grade_text, log, worker = outcome
        try:   # the worker is ours, but what it carries was shaped by the student's run: bounded, parsed as data
            data = load_json(grade_text[:MAX_GRADE_BYTES + 1], "the worker's grade.json")
            if len(grade_text) > MAX_GRADE_BYTES or not isinstance(data, dict):
                raise UntrustedData("the worker's grade.json is not a grade record")
            report = GradeReport.from_dict(data)
        except (UntrustedData, TypeError) as exc:
            return Refused(worker, str(exc))
        (self.run_dir(student) / "grade.log").write_text(log[-(1 << 20):])
        report.save(self.run_dir(student))
        return report

    def unavailable(self, student: str, why: Failed | Refused) -> GradeReport:
        """Staff's to look at, with the reason on the student's row; never the student's zero."""
        reason = (f"grading failed: {why.reason}" if isinstance(why, Failed)
                  else f"no worker could grade it ({why.worker}: {why.reason[:300]})")
        report = GradeReport(profile=self.profiles[student], grading_error=reason)
        report.save(self.run_dir(student))
        return report

    def line(self, student: str, report: GradeReport) -> str:
        flag = f"  [NEEDS ATTENTION: {report.attention[0][:80]}]" if report.attention else ""
        return f"{report.total:g} / {report.max:g}{flag}"

    def rerun_alone(self, report: GradeReport, beside: int) -> bool:
        return False

    def retaken(self, student: str, first: GradeReport, second: GradeReport, beside: int) -> GradeReport:
        return second


def _grade_here(assignment: Assignment, run_dir: Path, data_root: Path, profile: str, seed: int) -> GradeReport:
    return grade_one(assignment, run_dir, data_root=data_root, profile=profile, seed=seed)


def grade_packed(assignment: Assignment, student: str, run_folder: bytes, data_root: Path, profile: str, seed: int):
    """On a cluster worker: grade one run; return grade.json's and grade.log's text and the worker's name."""
    with tempfile.TemporaryDirectory(prefix="gk-grade-") as tmp:
        run_dir = Path(tmp) / student / assignment.name
        transfer.unpack(run_folder, run_dir, budget_bytes=1 << 40)
        grade_one(assignment, run_dir, data_root=data_root, profile=profile, seed=seed)
        return (run_dir / GRADE_FILE).read_text(), (run_dir / "grade.log").read_text(), worker_name()
