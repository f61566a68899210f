"""Run every submission of an assignment: parallel workers, a progress bar, resumable.

A submission whose run.json matches its current fingerprint (same input, kit version and settings) is
skipped, so a killed batch re-run picks up where it stopped and loses nothing already done.
"""
from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from gradekit import execute
from gradekit.course import Assignment
from gradekit.data import registry, store


def data_provenance(assignment: Assignment, data_root: Path) -> dict[str, str]:
    return {name: store.provenance(registry.get(name), data_root) for name in assignment.datasets}


def previous_fingerprint(dest: Path) -> str | None:
    try:
        return json.loads((dest / "run.json").read_text()).get("input_sha256")
    except (OSError, ValueError):
        return None


def run_all(assignment: Assignment, submitted: Path, autograded: Path, *, profile: str, data_root: Path,
            seed: int, device: str, jobs: int, students: list[str] | None = None, force: bool = False) -> dict[str, dict]:
    if not students:
        students = sorted(p.name for p in submitted.iterdir() if (p / assignment.name).exists()) if submitted.is_dir() else []
    data = data_provenance(assignment, data_root)
    pending, results = [], {}
    for student in students:
        job = execute.Job(assignment.name, student, submitted / student / assignment.name,
                          autograded / student / assignment.name, profile, data_root, seed, device,
                          assignment.limits[profile], data, threads=max(1, (os.cpu_count() or 1) // max(1, jobs)))
        if not force and previous_fingerprint(job.dest) == job.fingerprint():
            results[student] = json.loads((job.dest / "run.json").read_text()) | {"skipped": True}
        else:
            pending.append(job)
    if not pending:
        return results
    running: set[str] = set()
    lock = threading.Lock()
    bar = tqdm(total=len(students), initial=len(results), unit="submission", desc=f"run {assignment.name}",
               dynamic_ncols=True)

    def work(job: execute.Job) -> dict:
        with lock:
            running.add(job.student)
            bar.set_postfix_str(", ".join(sorted(running)))
        try:
            return execute.run(job)
        except Exception as exc:  # a bug or a full disk must not take the rest of the batch down
            return {"student": job.student, "status": execute.SANDBOX_FAILED,
                    "reason": f"the runner failed: {type(exc).__name__}: {exc}"}
        finally:
            with lock:
                running.discard(job.student)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(work, job): job.student for job in pending}
        for future in as_completed(futures):
            record = future.result()
            results[futures[future]] = record
            bar.update(1)
            bar.write(f"  {futures[future]}: {record['status']} ({record.get('duration_s', '?')} s) {record['reason'][:100]}")
    bar.close()
    return results
