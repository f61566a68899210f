"""Grading, as a stage of the batch driver: one pytest process per student over grader_tests/<assignment>/
-> grade.json, here or on a cluster worker. Each run is graded with the profile and seed it was made with."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gradekit.batch.driver import Ready, Work
from gradekit.batch.settings import Settings
from gradekit.course import Assignment, Folders
from gradekit.course.variants import Variant
from gradekit.grading.variants import VariantSheet
from gradekit.errors import ProfileMismatch
from gradekit.platform import sandbox, transfer
from gradekit.platform.ready import ReadyPool
from gradekit.platform.zygote import Zygote
from gradekit.grading.worker import SandboxedWorker, WorkerKind
from gradekit.platform.executors import Failed, Refused, worker_name
from gradekit.records import GRADE_FILE, SANDBOX_FAILED, GradeReport, RunRecord
from gradekit.platform.untrusted import UntrustedData, load_json

MAX_GRADE_BYTES = 16 << 20


@dataclass(frozen=True)
class Grading:
    """How one run is graded: the graders' data root, the profile and seed it ran with, the student's variant
    sheet (JSON, gradekit.grading.variants; "" without [variants]) and, for `solve --variants`, the items."""

    data_root: Path
    profile: str
    seed: int
    variant: str = ""
    items: tuple[str, ...] = ()
    timeout_s: float = 3600


GRADER_IMPORTS = ("pytest", "gradekit.grading.plugin")
MAX_LOG_BYTES = 8 << 20


def grade_one(assignment: Assignment, run_dir: Path, grading: Grading) -> GradeReport:
    report = run_dir / GRADE_FILE
    report.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="gk-variant-") as tmp:
        sheet = Path(tmp) / "variant.json"   # the trusted side's copy of the student's variant, never the run's
        sheet.write_text(grading.variant or "null")
        args = [str(assignment.grader_dir), "-p", "gradekit.grading.plugin",
                "-p", "no:cacheprovider", "--assert=plain", "-q", "--no-header", "-rN", "--tb=line",
                f"--rootdir={assignment.grader_dir}", f"--gk-run-dir={run_dir}", f"--gk-report={report}",
                f"--gk-course={assignment.course.root}", f"--gk-assignment={assignment.name}",
                f"--gk-data-root={grading.data_root}", f"--gk-profile={grading.profile}", f"--gk-seed={grading.seed}",
                f"--gk-variant={sheet}", f"--gk-items={','.join(grading.items)}"]
        done = _pytest(args, assignment, grading)
    output, code = done.output, done.returncode
    if done.timed_out:
        output = f"grading took longer than {grading.timeout_s} s\n{output}"
    (run_dir / "grade.log").write_text(output)
    result = GradeReport.load(run_dir)
    if code not in (0, 1) or result is None:  # 0 all passed, 1 some failed; others: pytest itself broke
        result = GradeReport(profile=grading.profile, grading_error=f"pytest exited {code}: {output[-800:]}")
        result.save(run_dir)
    return result


CALL_WORKERS: ReadyPool[WorkerKind, SandboxedWorker] = ReadyPool(SandboxedWorker)


def _pytest(args: list[str], assignment: Assignment, grading: Grading) -> sandbox.Completed:
    """pytest in a process forked from a zygote that has imported pytest, the plugin and the assignment's
    heavy modules (the graders' `import torch` then costs nothing); its own process, as a fresh one would be.
    A call worker made ready for it while the grading before it ran is handed over (the graders' first call
    of a student's function does not wait for Python, torch and the sandbox); it is ended here afterwards."""
    kind = WorkerKind.of(grading.data_root, assignment.catalog().manifest(), assignment.limits[grading.profile],
                         assignment.course_files(), assignment.preload())
    worker = CALL_WORKERS.take(kind)
    env, keep = worker.handover() if worker is not None else ({}, ())
    zygote = Zygote.shared(GRADER_IMPORTS + assignment.preload())
    read, write = os.pipe()
    nothing = os.open(os.devnull, os.O_RDONLY)
    try:
        try:
            child = zygote.spawn("gradekit.grading.stage:pytest_main", args, {**os.environ, **env},
                                 assignment.grader_dir, (nothing, write, *keep))
        finally:
            os.close(write)
            os.close(nothing)
        output = sandbox.Budget(output_bytes=MAX_LOG_BYTES)
        return sandbox.Supervised(child, open(read, "rb"), output).finish(grading.timeout_s)
    finally:
        CALL_WORKERS.done(kind, used=None if worker is None else worker.loaded)
        if worker is not None:
            worker.close()


def pytest_main(*args: str) -> int:
    """In the forked grading worker."""
    import pytest

    return int(pytest.main(list(args)))


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

    def __init__(self, assignment: Assignment, settings: Settings, folders: Folders, students: list[str],
                 variants: dict[str, Variant] | None = None, items: tuple[str, ...] = ()):
        """Raises ProfileMismatch when settings.profile differs from a run's (None grades each with its own).
        `variants`: the students' (default: the course's stored ones); `items`: grade only these."""
        self.assignment, self.settings, self.folders, self.items = assignment, settings, folders, items
        self.profiles = graded_profiles(folders, students, settings.profile)
        self.sheets = variant_sheets(assignment, folders, variants)
        self.ready = Ready(assignment.catalog(), settings.data_root, settings.unsandboxed)
        self.label = f"grade {assignment.name}"

    def run_dir(self, student: str) -> Path:
        return self.folders.run(student)

    def settled(self, student: str) -> GradeReport | None:
        run = RunRecord.load(self.run_dir(student))
        why = _not_gradable(run, self.sheets.get(student))
        if not why:
            return None
        report = GradeReport(profile=self.profiles[student], grading_error=why)   # staff's, never a zero
        report.save(self.run_dir(student))
        return report

    def work(self, student: str, remote: bool, same_machine: bool) -> Work:
        run_dir, profile = self.run_dir(student), self.profiles[student]
        run = RunRecord.load(run_dir)
        seed = run.seed if run is not None and run.input_sha256 else self.settings.seed   # what the notebook ran with
        sheet = self.sheets.get(student)
        grading = Grading(self.settings.data_root, profile, seed, sheet.to_json() if sheet else "", self.items)
        if remote:
            return Work(grade_packed, (self.assignment, student, transfer.pack(run_dir), grading))
        return Work(grade_one, (self.assignment, run_dir, grading))

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


def variant_sheets(assignment: Assignment, folders: Folders, variants: dict[str, Variant] | None) -> dict[str, VariantSheet]:
    """Each student's variant sheet: their stored values and the others' (empty without `[variants]`)."""
    book = assignment.variant_book()
    if book is None:
        return {}
    printed = book.printed()
    if variants is None:
        variants = {"solution": printed} if folders.solution else book.students
    return {s: VariantSheet.of(s, variants, printed) for s in variants}


def _not_gradable(run: RunRecord | None, sheet: VariantSheet | None) -> str:
    """Why a run cannot be graded for reasons of ours: the machinery failed, or it was made with another
    variant than the stored one (re-rolled since)."""
    if run is not None and run.status == SANDBOX_FAILED:
        return f"the run did not complete on our side: {run.reason[:300]}"
    if run is None or sheet is None or "VARIANT_SEED" not in run.parameters:
        return ""
    if run.parameters["VARIANT_SEED"] != sheet.seed:
        return (f"the run used variant seed {run.parameters['VARIANT_SEED']}, the stored variant is seed {sheet.seed} "
                f"(re-rolled since?): run this student again before grading")
    return ""


def grade_packed(assignment: Assignment, student: str, run_folder: bytes, grading: Grading):
    """On a cluster worker: grade one run; return grade.json's and grade.log's text and the worker's name."""
    with tempfile.TemporaryDirectory(prefix="gk-grade-") as tmp:
        run_dir = Path(tmp) / student / assignment.name
        transfer.unpack(run_folder, run_dir, budget_bytes=1 << 40)
        grade_one(assignment, run_dir, grading)
        return (run_dir / GRADE_FILE).read_text(), (run_dir / "grade.log").read_text(), worker_name()
