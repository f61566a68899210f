"""Run every submission of an assignment: in parallel on this machine or on a Dask cluster, with a
progress bar, resumable.

A submission whose run.json matches its current fingerprint (same input, kit version, settings and
datasets) is skipped, so a killed batch re-run picks up where it stopped and loses nothing already done.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from tqdm import tqdm

from gradekit import atomic
from gradekit.course import Assignment
from gradekit.records import Attempt, RunRecord
from gradekit.run import execute, publish
from gradekit.run.classify import SANDBOX_FAILED, TIMEOUT
from gradekit.scale import transfer
from gradekit.scale.executors import Call, Failed, LocalPool, Refused, results_retrying_refusals, show_in_flight
from gradekit.scale.remote import run_packed
from gradekit.untrusted import for_terminal


def make_job(assignment: Assignment, student: str, submission: Path, dest: Path, *, profile: str,
             data_root: Path, seed: int, device: str, jobs: int = 1) -> execute.Job:
    catalog = assignment.catalog()
    return execute.Job(assignment.name, student, submission, dest, profile, data_root, seed, device,
                       assignment.limits[profile], catalog.provenance(data_root), catalog.manifest(),
                       threads=max(1, (os.cpu_count() or 1) // max(1, jobs)), tasks=assignment.tasks())


def run_all(assignment: Assignment, submitted: Path, autograded: Path, *, profile: str, data_root: Path,
            seed: int, device: str, jobs: int, students: list[str] | None = None,
            force: bool = False, executor=None, unsandboxed: bool = False) -> dict[str, RunRecord]:
    executor = executor or LocalPool(jobs)
    if not students:
        students = sorted(p.name for p in submitted.iterdir() if (p / assignment.name).exists()) if submitted.is_dir() else []
    pending, results = [], {}
    for student in students:
        job = make_job(assignment, student, submitted / student / assignment.name, autograded / student / assignment.name,
                       profile=profile, data_root=data_root, seed=seed, device=device, jobs=executor.width)
        previous = RunRecord.load(job.dest)
        if not force and previous is not None and previous.input_sha256 == job.fingerprint():
            previous.skipped = True
            results[student] = previous
        else:
            pending.append(job)
    if not pending:
        return results
    limits = assignment.limits[profile]   # what each run declares it needs: a GPU slot, and its memory
    needs = ((("GPU", 1),) if device == "cuda" or (device == "auto" and limits.gpu) else ()) + (("MEMORY", limits.memory_mb),)
    if executor.remote:
        catalog = assignment.catalog()
        if not executor.same_machine:
            for job in pending:
                job.threads = 0   # decided on the worker, from its own cores and slots
        calls = [Call(job.student, run_packed, (job, transfer.pack(job.submission) if job.submission.is_dir() else b"",
                                                catalog, unsandboxed), needs) for job in pending]
    else:
        calls = [Call(job.student, execute.run, (job,), needs) for job in pending]
    jobs_by_student = {job.student: job for job in pending}
    bar = tqdm(total=len(students), initial=len(results), unit="submission", desc=f"run {assignment.name}",
               dynamic_ncols=True)

    def retrying(call: Call, refusal: Refused) -> None:
        bar.write(for_terminal(f"  {call.key}: worker {refusal.worker}: {refusal.reason[:200]}; trying another worker"))

    def run(batch: list[Call]):
        taken = results_retrying_refusals(executor, batch, show_in_flight(bar),
                                          lambda call, outcome: _record(jobs_by_student[call.key], outcome), retrying)
        for call, record in taken:
            job = jobs_by_student[call.key]
            if isinstance(record, Refused):   # twice: the student's row says so; nothing of theirs is charged
                record = _not_run(job, f"no worker could run it ({record.worker}: {record.reason[:300]})")
            yield job, call, record

    concurrent = min(executor.width, len(calls))
    again = []
    for job, call, record in run(calls):
        results[job.student] = record
        if _timed_out(record) and (concurrent > 1 or record.cost.get("load_per_core", 0) > 1.0):
            again.append(call)    # not charged yet: it shared the machine
            bar.write(for_terminal(f"  {job.student}: {record.reason[:100]}: run again alone before it counts"))
            continue
        bar.update(1)
        bar.write(for_terminal(f"  {job.student}: {record.status} ({record.duration_s} s) {record.reason[:100]}"))
    for call in again:   # one at a time: nothing else of this batch runs beside it
        first = results[call.key]
        for job, _, record in run([call]):
            record.attempts = [*first.attempts, Attempt(first.status, first.reason, first.cost.get("load_per_core", 0.0),
                                                        concurrent)]
            if isinstance(record, RunRecord) and job.dest.is_dir():
                record.save(job.dest)
            results[job.student] = record
            bar.update(1)
            bar.write(for_terminal(f"  {job.student} (alone): {record.status} ({record.duration_s} s) {record.reason[:100]}"))
    bar.close()
    return results


def _timed_out(record: RunRecord) -> bool:
    return record.status == TIMEOUT or any(task.status == TIMEOUT for task in record.tasks)


def _not_run(job: execute.Job, reason: str) -> RunRecord:
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


def _record(job: execute.Job, outcome) -> RunRecord | Refused:
    """The run's record; a remote result is published here, under the local publish's rules."""
    if isinstance(outcome, (RunRecord, Refused)):
        return outcome
    if isinstance(outcome, Failed):
        return _not_run(job, f"the runner failed: {outcome.reason}")
    data, packed, worker = outcome
    try:
        transfer.publish(packed, job.dest, publish.budget_bytes(job.limits))
    except transfer.TamperedResult as exc:
        return Refused(worker, f"its result was refused, nothing published: {exc}")
    return RunRecord.from_dict(data)
