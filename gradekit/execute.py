"""Execute one submission: a private copy of its folder, pristine provided files, the runner's own
parameters, papermill outside and the kernel inside the sandbox; then classify what happened.

Result: autograded/<student>/<assignment>/ with the executed notebook, artifacts/ (OUTPUT_DIR),
run.json and run.log, published in one rename.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from gradekit import __version__, atomic, sandbox
from gradekit.cgroups import PidsCgroup
from gradekit.course import Limits

PROVIDED = Path(__file__).parent / "provided"
PROVIDED_FILES = ("gradekit_submit.py", "gradekit_data.py")

# Outcomes a run can have; anything but "ok" is a reason in the mark sheet.
OK, ERROR, TIMEOUT, KERNEL_DIED, EXITED_EARLY = "ok", "error", "timeout", "kernel died", "exited early"
NO_NOTEBOOK, INVALID_NOTEBOOK, OUTPUT_TOO_LARGE, SANDBOX_FAILED = (
    "no notebook", "invalid notebook", "output too large", "sandbox refused")


@dataclass
class Job:
    assignment: str
    student: str
    submission: Path          # submitted/<student>/<assignment>
    dest: Path                # autograded/<student>/<assignment>
    profile: str
    data_root: Path
    seed: int
    device: str
    limits: Limits
    data: dict = field(default_factory=dict)   # dataset -> provenance, for the record
    threads: int = os.cpu_count() or 1

    def fingerprint(self) -> str:
        """Changes when the input, the kit or the run's settings change: the key for skipping reruns."""
        digest = hashlib.sha256(f"{__version__}|{self.profile}|{self.seed}|{self.device}".encode())
        if self.submission.is_dir():
            for path in sorted(p for p in self.submission.rglob("*") if p.is_file()):
                digest.update(str(path.relative_to(self.submission)).encode())
                digest.update(path.read_bytes())
        return digest.hexdigest()


def find_notebook(folder: Path, assignment: str) -> Path | None:
    preferred = folder / f"{assignment}.ipynb"
    if preferred.exists():
        return preferred
    found = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    return found[0] if len(found) == 1 else None


def run(job: Job) -> dict:
    started = time.time()
    staging = job.dest.with_name(f".{job.dest.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    work, artifacts, jupyter = (staging / d for d in ("work", "artifacts", "jupyter"))
    for d in (work, artifacts, jupyter):
        d.mkdir(parents=True)
    # kernel sockets: a short path of their own (a unix socket path has at most 107 bytes)
    sockets = Path(tempfile.mkdtemp(prefix="gk-"))
    record = {"student": job.student, "assignment": job.assignment, "profile": job.profile, "seed": job.seed,
              "device": job.device, "data": job.data, "kit_version": __version__, "input_sha256": job.fingerprint(),
              "sandboxed": sandbox.bwrap_path() is not None, "warnings": [], "errors": [], "cells": []}
    if not record["sandboxed"]:
        record["warnings"].append(sandbox.NO_SANDBOX_WARNING)
    log = []
    try:
        _execute(job, record, log, work, artifacts, sockets, jupyter, staging)
    finally:
        record["duration_s"] = round(time.time() - started, 2)
        record["artifacts"] = sorted(p.name for p in artifacts.iterdir()) if artifacts.exists() else []
        for d in (work, sockets, jupyter):
            shutil.rmtree(d, ignore_errors=True)
        (staging / "run.log").write_text("\n".join(log))
        atomic.write_json(staging / "run.json", record)
        atomic.replace_dir(staging, job.dest)
    return record


def _execute(job, record, log, work, artifacts, sockets, jupyter, staging) -> None:
    notebook = find_notebook(job.submission, job.assignment) if job.submission.is_dir() else None
    if notebook is None:
        found = sorted(p.name for p in job.submission.iterdir()) if job.submission.is_dir() else []
        _fail(record, NO_NOTEBOOK, f"no {job.assignment}.ipynb (nor a single other .ipynb) was handed in; "
                                   f"found: {', '.join(found) or 'nothing'}")
        return
    try:
        nb = nbformat.read(notebook, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # not JSON, not a notebook, wrong schema: all the same to the student
        _fail(record, INVALID_NOTEBOOK, f"{notebook.name} is not a valid notebook: {type(exc).__name__}: {str(exc)[:300]}")
        return
    shutil.copytree(job.submission, work, dirs_exist_ok=True)
    for name in PROVIDED_FILES:  # whatever the student did to them, the runner's copies are used
        shutil.copyfile(PROVIDED / name, work / name)
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        record["warnings"].append("no cell tagged 'parameters': the runner's values were injected at the top")
    nbformat.write(nb, work / notebook.name)

    confinement = sandbox.Confinement(
        workdir=work, writable=(artifacts, sockets), readable=(job.data_root,),
        memory_mb=job.limits.memory_mb, processes=job.limits.processes, file_mb=job.limits.output_mb,
        gpu=job.device in ("cuda", "auto"), threads=job.threads)
    from gradekit.nbrun import write_kernel_spec
    with PidsCgroup(job.limits.processes) as group:
        if not group.enforced:
            record["warnings"].append(f"process limit not enforced: no writable cgroup pids controller")
        write_kernel_spec(jupyter, confinement, group)
        _run_notebook(job, record, log, work, artifacts, sockets, jupyter, staging, notebook)


def _run_notebook(job, record, log, work, artifacts, sockets, jupyter, staging, notebook) -> None:
    executed = staging / notebook.name
    spec = {"input": str(work / notebook.name), "output": str(executed), "cwd": str(work),
            "cell_timeout_s": job.limits.cell_timeout_s, "replies": str(jupyter / "replies.jsonl"),
            "output_limit_bytes": job.limits.output_mb << 20, "output_flag": str(jupyter / "output_exceeded.json"),
            "parameters": {"DATA_ROOT": str(job.data_root), "OUTPUT_DIR": str(artifacts), "DEVICE": job.device,
                           "PROFILE": job.profile, "SEED": job.seed}}
    record["parameters"] = spec["parameters"]
    atomic.write_json(jupyter / "spec.json", spec)
    env = {**os.environ, "JUPYTER_PATH": str(jupyter), "JUPYTER_RUNTIME_DIR": str(sockets),
           "JUPYTER_DATA_DIR": str(jupyter / "data"), "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = sandbox.run([sys.executable, "-m", "gradekit.nbrun", str(jupyter / "spec.json")],
                       job.limits.notebook_timeout_s, cwd=staging, env=env)
    log.append(done.output)
    _classify(record, executed, done, job, _replies(jupyter / "replies.jsonl"), _flag(jupyter / "output_exceeded.json"))


def _fail(record: dict, status: str, reason: str) -> None:
    record["status"], record["reason"] = status, reason


def _replies(path: Path) -> dict[str, dict]:
    """Cell id -> the kernel's execute_reply status, as recorded by the trusted papermill process."""
    if not path.exists():
        return {}
    return {r["id"]: r for r in map(json.loads, path.read_text().splitlines()) if r.get("id")}


def _flag(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def _classify(record: dict, executed: Path, done: sandbox.Completed, job: Job, replies: dict[str, dict],
              output_exceeded: dict | None) -> None:
    if not executed.exists():
        _fail(record, SANDBOX_FAILED, "the notebook could not be started: " + _tail(done.output, 6))
        return
    nb = nbformat.read(executed, as_version=4)
    number = 0
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags or "papermill-error-cell-tag" in tags:
            continue  # added by papermill, not part of what the student handed in
        number += 1  # the cell's position as the student sees it in the notebook they handed in
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        status = cell.get("metadata", {}).get("papermill", {}).get("status", "pending")
        reply = replies.get(cell.get("id"))
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        entry = {"cell": number, "executed": reply is not None if replies else cell.get("execution_count") is not None,
                 "status": status, "duration_s": cell.get("metadata", {}).get("papermill", {}).get("duration")}
        record["cells"].append(entry)
        for err in errors:
            record["errors"].append({"cell": number, "ename": err.get("ename"), "evalue": str(err.get("evalue"))[:500],
                                     "last_lines": _strip_ansi("\n".join(err.get("traceback", [])[-3:]))[-1500:]})
        if reply and reply["status"] == "error" and not errors:
            # the kernel said error, the notebook shows none: the traceback display was tampered with
            record["errors"].append({"cell": number, "ename": reply["ename"], "evalue": reply["evalue"],
                                     "last_lines": "(no traceback was shown: the error display was disabled)"})
        if output_exceeded and cell.get("id") == output_exceeded.get("id"):
            output_exceeded["cell"] = number
    failure = next((line for line in done.output.splitlines() if line.startswith("GRADEKIT-NBRUN-FAILED")), "")
    pending = [c["cell"] for c in record["cells"] if not c["executed"]]
    running = next((c["cell"] for c in record["cells"] if c["status"] == "running"), pending[0] if pending else None)
    known = ("PapermillExecutionError", "CellTimeoutError", "DeadKernelError")
    never_ran = not any(c["executed"] for c in record["cells"])
    # a kernel that dies before its kernel_info reply never ran student code; nor did one that failed unknownly
    if failure and never_ran and not done.timed_out and ("kernel_info" in failure or not any(k in failure for k in known)):
        # papermill never got to start a cell: the sandbox or the kernel's start failed, not the student's code
        _fail(record, SANDBOX_FAILED, "the kernel could not start in the sandbox: "
                                      + failure.removeprefix("GRADEKIT-NBRUN-FAILED ")[:300])
    elif done.timed_out:
        _fail(record, TIMEOUT, f"the notebook ran past its {job.limits.notebook_timeout_s} s limit (in cell {running})")
    elif output_exceeded:
        _fail(record, OUTPUT_TOO_LARGE, f"cell {output_exceeded.get('cell', '?')} printed more than "
                                        f"{job.limits.output_mb} MB; the run was stopped there")
    elif "CellTimeoutError" in failure:
        _fail(record, TIMEOUT, f"cell {running} ran past the {job.limits.cell_timeout_s} s limit per cell")
    elif "DeadKernelError" in failure or "Kernel died" in failure:
        _fail(record, KERNEL_DIED, f"the kernel died in cell {running} (killed, out of memory, or exited)")
    elif record["errors"]:
        first = record["errors"][0]
        more = f" (and {len(record['errors']) - 1} more cells with errors)" if len(record["errors"]) > 1 else ""
        _fail(record, ERROR, f"cell {first['cell']} raised {first['ename']}: {first['evalue'][:200]}{more}")
    elif pending:
        _fail(record, EXITED_EARLY, f"{len(pending)} code cells never ran (first: cell {pending[0]})")
    elif failure and "PapermillExecutionError" not in failure:
        _fail(record, SANDBOX_FAILED, failure.removeprefix("GRADEKIT-NBRUN-FAILED ")[:300])
    else:
        _fail(record, OK, "all cells ran")


def _strip_ansi(text: str) -> str:
    import re
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def _tail(text: str, n: int) -> str:
    return " | ".join(line for line in text.strip().splitlines()[-n:])
