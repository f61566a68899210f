"""What a Dask worker runs: the same per-submission functions as the local pool (execute.run,
runner.grade_one), wrapped so that the submission travels in and the finished folder travels back.

Before its first task a worker checks, once per process, that the data root is ready and readable as the
sandbox reads it (the engine's preflight). A worker that is not ready refuses its tasks with the reason;
the client reports them and publishes nothing, so the next run does them again."""
from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

from gradekit.scale import transfer
from gradekit.scale.executors import Refused

_READY: dict[tuple, str] = {}   # per worker process: (data root, datasets) -> "" or the refusal


def _worker_name() -> str:
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def _ready(catalog, data_root: Path, unsandboxed: bool) -> str:
    from gradekit.data import preflight

    key = (str(data_root), tuple(sorted(d.name for d in catalog)), unsandboxed)
    if key not in _READY:
        try:
            preflight.require_ready(catalog, data_root, unsandboxed=unsandboxed)
            _READY[key] = ""
        except preflight.Refused as refusal:
            _READY[key] = str(refusal)
    return _READY[key]


def _slots() -> int:
    try:
        from distributed import get_worker
        worker = get_worker()
        return max(1, int(worker.state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 1


def run_packed(job, submission: bytes, catalog, unsandboxed: bool):
    """On a worker: run one submission; return (run record as a dict, the finished folder packed)."""
    from gradekit.run import execute

    refusal = _ready(catalog, job.data_root, unsandboxed)
    if refusal:
        return Refused(_worker_name(), refusal)
    with tempfile.TemporaryDirectory(prefix="gk-task-") as tmp:
        local = Path(tmp) / "submission"
        transfer.unpack(submission, local, budget_bytes=1 << 40)   # from our own client
        # threads 0: the client could not know this machine's cores; its submission slots share them
        threads = job.threads or max(1, (os.cpu_count() or 1) // _slots())
        here = dataclasses.replace(job, submission=local, dest=Path(tmp) / "out" / job.assignment, threads=threads)
        record = execute.run(here)
        return dataclasses.asdict(record), transfer.pack(here.dest), _worker_name()


def grade_packed(assignment, student: str, run_folder: bytes, catalog, data_root: Path, profile: str, seed: int,
                 unsandboxed: bool):
    """On a worker: grade one run; return grade.json's and grade.log's text."""
    from gradekit.grading.runner import grade_one
    from gradekit.records import GRADE_FILE

    refusal = _ready(catalog, data_root, unsandboxed)
    if refusal:
        return Refused(_worker_name(), refusal)
    with tempfile.TemporaryDirectory(prefix="gk-grade-") as tmp:
        run_dir = Path(tmp) / student / assignment.name
        transfer.unpack(run_folder, run_dir, budget_bytes=1 << 40)
        grade_one(assignment, run_dir, data_root=data_root, profile=profile, seed=seed)
        return (run_dir / GRADE_FILE).read_text(), (run_dir / "grade.log").read_text(), _worker_name()
