"""Run every submission of an assignment: parallel workers, a progress bar, resumable.

A submission whose run.json matches its current fingerprint (same input, kit version, settings and
datasets) is skipped, so a killed batch re-run picks up where it stopped and loses nothing already done.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from gradekit.course import Assignment
from gradekit.records import RunRecord
from gradekit.run import execute
from gradekit.run.classify import SANDBOX_FAILED


def make_job(assignment: Assignment, student: str, submission: Path, dest: Path, *, profile: str,
             data_root: Path, seed: int, device: str, jobs: int = 1) -> execute.Job:
    catalog = assignment.catalog()
    return execute.Job(assignment.name, student, submission, dest, profile, data_root, seed, device,
                       assignment.limits[profile], catalog.provenance(data_root), catalog.manifest(),
                       threads=max(1, (os.cpu_count() or 1) // max(1, jobs)))


def run_all(assignment: Assignment, submitted: Path, autograded: Path, *, profile: str, data_root: Path,
            seed: int, device: str, jobs: int, students: list[str] | None = None,
            force: bool = False) -> dict[str, RunRecord]:
    if not students:
        students = sorted(p.name for p in submitted.iterdir() if (p / assignment.name).exists()) if submitted.is_dir() else []
    pending, results = [], {}
    for student in students:
        job = make_job(assignment, student, submitted / student / assignment.name, autograded / student / assignment.name,
                       profile=profile, data_root=data_root, seed=seed, device=device, jobs=jobs)
        previous = RunRecord.load(job.dest)
        if not force and previous is not None and previous.input_sha256 == job.fingerprint():
            previous.skipped = True
            results[student] = previous
        else:
            pending.append(job)
    if not pending:
        return results
    running: set[str] = set()
    lock = threading.Lock()
    bar = tqdm(total=len(students), initial=len(results), unit="submission", desc=f"run {assignment.name}",
               dynamic_ncols=True)

    def work(job: execute.Job) -> RunRecord:
        with lock:
            running.add(job.student)
            bar.set_postfix_str(", ".join(sorted(running)))
        try:
            return execute.run(job)
        except Exception as exc:  # a bug or a full disk must not take the rest of the batch down
            return RunRecord(job.student, job.assignment, status=SANDBOX_FAILED,
                             reason=f"the runner failed: {type(exc).__name__}: {exc}")
        finally:
            with lock:
                running.discard(job.student)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(work, job): job.student for job in pending}
        for future in as_completed(futures):
            record = future.result()
            results[futures[future]] = record
            bar.update(1)
            bar.write(f"  {futures[future]}: {record.status} ({record.duration_s} s) {record.reason[:100]}")
    bar.close()
    return results
