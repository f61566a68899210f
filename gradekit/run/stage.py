"""Running, as a stage of the batch driver: every submission of an assignment executed in its sandbox, in
parallel on this machine or on a Dask cluster, resumable.

A submission whose run.json matches its current fingerprint (same input, kit version, settings and
datasets) is settled without a run, so a killed batch re-run picks up where it stopped and loses nothing
already done. A timeout of a run that shared the machine is run again alone before it counts."""
from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from gradekit.batch.driver import Ready, Work
from gradekit.batch.settings import Settings
from gradekit.course import Assignment, Folders
from gradekit.course.variants import Variant
from gradekit.data import store
from gradekit.platform import atomic, transfer
from gradekit.platform.executors import Failed, Refused, worker_name, worker_slots
from gradekit.records import SANDBOX_FAILED, TIMEOUT, Attempt, RunRecord
from gradekit.run import execute, publish


def make_job(assignment: Assignment, student: str, submission: Path, dest: Path, settings: Settings,
             width: int = 1) -> execute.Job:
    catalog = assignment.catalog()
    profile = settings.profile or "smoke"
    return execute.Job(assignment.name, student, submission, dest, profile, settings.data_root, settings.seed,
                       settings.device, assignment.limits[profile], store.provenances(catalog, settings.data_root),
                       catalog.manifest(), threads=settings.threads(width), tasks=assignment.tasks(),
                       preload=assignment.preload())


def stored_variants(assignment: Assignment, folders: Folders) -> dict[str, Variant]:
    """Each student's stored variant (made and stored now for students who have none); the instructor's
    solution runs the printed example. Empty without `[variants]`."""
    book = assignment.variant_book()
    if book is None:
        return {}
    if folders.solution:
        return {"solution": book.printed()}
    book.ensure(folders.students())
    return dict(book.students)


class RunStage:
    verb = "run"

    def __init__(self, assignment: Assignment, settings: Settings, folders: Folders, width: int = 1,
                 force: bool = False, variants: dict[str, Variant] | None = None):
        """`folders`: where the submissions are and where the runs go; `width`: submissions at once;
        `variants`: the students' (default: the course's stored ones, made before the batch for new students)."""
        self.assignment, self.settings, self.folders, self.force, self.width = assignment, settings, folders, force, width
        self.variants = stored_variants(assignment, folders) if variants is None else variants
        self.ready = Ready(assignment.catalog(), settings.data_root, settings.unsandboxed)
        self.label = f"run {assignment.name}"
        self.jobs: dict[str, execute.Job] = {}

    def students(self) -> list[str]:
        return self.folders.students()

    def settled(self, student: str) -> RunRecord | None:
        job = make_job(self.assignment, student, self.folders.submission(student), self.folders.run(student),
                       self.settings, self.width)
        variant = self.variants.get(student)
        if variant is not None:   # injected as parameters; the module beside the notebook, as the release has it
            job = dataclasses.replace(job, variant=variant.parameters(), course_files=self.assignment.course_files())
        self.jobs[student] = job
        previous = RunRecord.load(job.dest)
        if not self.force and previous is not None and previous.input_sha256 == job.fingerprint():
            previous.skipped = True
            return previous
        return None

    def work(self, student: str, remote: bool, same_machine: bool) -> Work:
        job = self.jobs[student]
        limits, device = job.limits, self.settings.device   # what the run needs: a GPU slot, and its memory
        needs = ((("GPU", 1),) if device == "cuda" or (device == "auto" and limits.gpu) else ()) + \
            (("MEMORY", limits.memory_mb),)
        if not remote:
            return Work(execute.run, (job,), needs)
        if not same_machine:   # decided on the worker, from its own cores and slots
            job = dataclasses.replace(job, threads=0)
        packed = transfer.pack(job.submission) if job.submission.is_dir() else b""
        return Work(run_packed, (job, packed), needs)

    def take(self, student: str, outcome: object) -> RunRecord | Refused:
        """The run's record; a remote result is published here, under the local publish's rules."""
        if isinstance(outcome, (RunRecord, Refused)):
            return outcome
        job = self.jobs[student]
        data, packed, worker = outcome
        try:
            transfer.publish(packed, job.dest, publish.budget_bytes(job.limits))
        except transfer.TamperedResult as exc:
            return Refused(worker, f"its result was refused, nothing published: {exc}")
        return RunRecord.from_dict(data)

    def unavailable(self, student: str, why: Failed | Refused) -> RunRecord:
        reason = (f"the runner failed: {why.reason}" if isinstance(why, Failed)
                  else f"no worker could run it ({why.worker}: {why.reason[:300]})")
        return not_run(self.jobs[student], reason)

    def line(self, student: str, record: RunRecord) -> str:
        return f"{record.status} ({record.duration_s} s) {record.reason[:100]}"

    def rerun_alone(self, record: RunRecord, beside: int) -> bool:
        timed_out = record.status == TIMEOUT or any(task.status == TIMEOUT for task in record.tasks)
        return timed_out and (beside > 1 or record.cost.get("load_per_core", 0) > 1.0)

    def retaken(self, student: str, first: RunRecord, second: RunRecord, beside: int) -> RunRecord:
        second.attempts = [*first.attempts, Attempt(first.status, first.reason, first.cost.get("load_per_core", 0.0),
                                                    beside)]
        dest = self.jobs[student].dest
        if dest.is_dir():
            second.save(dest)
        return second


def not_run(job: execute.Job, reason: str) -> RunRecord:
    """A record of a run the machinery could not complete, published alone so that the student keeps a row
    with the reason (grading leaves it to staff); the next `run` tries again."""
    record = RunRecord(job.student, job.assignment, status=SANDBOX_FAILED, reason=reason, profile=job.profile,
                       seed=job.seed, device=job.device)
    staging = job.dest.with_name(f".{job.dest.name}.failed")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    record.save(staging)
    atomic.replace_dir(staging, job.dest)
    return record


def run_packed(job: execute.Job, submission: bytes):
    """On a cluster worker: run one submission; return (its record as a dict, the finished folder packed,
    the worker's name)."""
    # published below one folder for all of this worker's runs: the next run's kernel is made ready there
    runs = Path(tempfile.gettempdir()) / "gk-worker-runs" / uuid.uuid4().hex
    try:
        local = runs / "submission"
        transfer.unpack(submission, local, budget_bytes=1 << 40)   # from our own client
        # threads 0: the client could not know this machine's cores; its submission slots share them
        threads = job.threads or max(1, (os.cpu_count() or 1) // worker_slots())
        here = dataclasses.replace(job, submission=local, dest=runs / job.assignment, threads=threads)
        record = execute.run(here)
        return dataclasses.asdict(record), transfer.pack(here.dest), worker_name()
    finally:
        shutil.rmtree(runs, ignore_errors=True)
