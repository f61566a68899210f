"""Execute one submission: take a slot (a kernel made ready in its sandbox, papermill's runner waiting beside
it: gradekit.run.slots), stage the submission into it, run, classify what happened, publish
autograded/<student>/<assignment>/ (executed notebook, artifacts/, run.json, run.log) in one rename."""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from gradekit import __version__
from gradekit.platform import atomic
from gradekit.records import RunRecord
from gradekit.platform import sandbox
from gradekit.run import publish
from gradekit.run.classify import Outcome, classify
from gradekit.course.limits import Limits
from gradekit.run import slots
from gradekit.run.slots import SLOTS, Kind, Slot
from gradekit.run.staging import NotebookProblem, stage_submission
from gradekit.course.tasks import TaskPlan


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
    data: dict = field(default_factory=dict)       # dataset -> provenance, for the record
    manifest: dict = field(default_factory=dict)   # the datasets as the students' helper loads them
    threads: int = os.cpu_count() or 1
    tasks: TaskPlan = field(default_factory=TaskPlan)
    variant: dict = field(default_factory=dict)       # STUDENT_ID, VARIANT_SEED, VARIANT: the stored variant
    course_files: dict = field(default_factory=dict)  # file name -> text the course puts beside the notebook
    preload: tuple[str, ...] = ()                      # modules the kernel imports before the notebook runs

    def fingerprint(self) -> str:
        """Changes when the input, the kit or the run's settings change: the key for skipping reruns."""
        digest = hashlib.sha256(f"{__version__}|{self.profile}|{self.seed}|{self.device}".encode())
        digest.update(json.dumps(self.manifest, sort_keys=True).encode())
        digest.update(json.dumps(self.tasks.to_dict(), sort_keys=True).encode())
        digest.update(json.dumps([self.variant, self.course_files], sort_keys=True).encode())
        if self.submission.is_dir():
            for path in sorted(p for p in self.submission.rglob("*") if p.is_file() and not p.is_symlink()):
                digest.update(str(path.relative_to(self.submission)).encode())
                digest.update(path.read_bytes())
        return digest.hexdigest()

    def kind(self) -> Kind:
        """The sandbox this run needs: a kernel made ready for another run of the same kind will do."""
        return Kind(self.dest.parent.parent, self.data_root, self.limits, self.device in ("cuda", "auto"), self.threads,
                    self.preload)

    def parameters(self, output_dir: Path) -> dict:
        return {"DATA_ROOT": str(self.data_root), "OUTPUT_DIR": str(output_dir), "DEVICE": self.device,
                "PROFILE": self.profile, "SEED": self.seed, **self.variant}


def run(job: Job) -> RunRecord:
    started = time.time()
    # how busy the machine was before this run added to it: a timeout under load is run again alone
    # before it counts (gradekit.run.batch)
    load = round(os.getloadavg()[0] / (os.cpu_count() or 1), 2)
    record = RunRecord(job.student, job.assignment, profile=job.profile, seed=job.seed, device=job.device,
                       data=job.data, kit_version=__version__, input_sha256=job.fingerprint(),
                       sandboxed=sandbox.bwrap_path() is not None)
    if not record.sandboxed:
        record.warnings.append(sandbox.NO_SANDBOX_WARNING)
    kind = job.kind()
    slot = slots.take(kind)
    staging, log = slot.staging, ""
    try:
        notebook, warnings = stage_submission(job.submission, job.assignment, staging, job.manifest, job.course_files)
        record.warnings += warnings
        log = _execute(job, slot, notebook, record)
    except NotebookProblem as problem:
        record.status, record.reason = problem.status, problem.reason
    finally:
        slot.end()
        SLOTS.done(kind)
        record.duration_s = round(time.time() - started, 2)
        record.cost = {"wall_s": record.duration_s, **record.cost, "load_per_core": load, "kernel_ready": slot.ahead}
        staging.clean()
        record.warnings += publish.enforce(staging.root, job.limits)
        record.artifacts = sorted(p.name for p in staging.artifacts.iterdir()) if staging.artifacts.exists() else []
        record.save(staging.root)
        (staging.root / "run.log").write_text(log)
        job.dest.parent.mkdir(parents=True, exist_ok=True)
        atomic.move_dir(staging.root, job.dest)
    return record


def _execute(job: Job, slot: Slot, notebook: Path, record: RunRecord) -> str:
    """papermill in the slot's runner, the kernel in its sandbox; fills in the record, returns the log."""
    staging = slot.staging
    jupyter = staging.jupyter
    executed = staging.executed(notebook.name)
    spec = {"input": str(notebook), "output": str(executed), "cwd": str(staging.work),
            "cell_timeout_s": job.limits.cell_timeout_s, "output_limit_bytes": job.limits.output_mb << 20,
            "events": str(jupyter / "events.jsonl"), "outcome": str(jupyter / "outcome.json"),
            "parameters": job.parameters(staging.artifacts), "gpu": slot.confinement.gpu, "tasks": job.tasks.to_dict()}
    record.parameters = spec["parameters"]
    atomic.write_json(jupyter / "spec.json", spec)
    if not slot.group.enforced:
        record.warnings.append("process limit not enforced: no writable cgroup pids controller")
    done, out_of_memory = slot.go(jupyter / "spec.json", job.limits.notebook_timeout_s)

    outcome = _outcome(jupyter / "outcome.json", done, out_of_memory)
    record.cost.update(_cost(jupyter / "outcome.json"))
    cells = nbformat.read(executed if executed.exists() else notebook, as_version=4).cells
    verdict = classify(cells, _events(jupyter / "events.jsonl"), outcome, job.limits, job.tasks)
    record.status, record.reason, record.cells, record.errors = verdict.status, verdict.reason, verdict.cells, verdict.errors
    record.tasks = verdict.tasks
    # the student's own cells, apart from start-up (interpreters, kernel, imports of the kit) and saving
    record.cost["cells_s"] = round(sum(c.duration_s or 0.0 for c in record.cells), 2)
    for task in record.tasks:
        task.submits = list(dict(job.tasks.submits).get(task.name, ()))
    return done.output


def _cost(path: Path) -> dict:
    try:
        return dict(json.loads(path.read_text()).get("cost", {}))
    except (OSError, ValueError, AttributeError):
        return {}   # the runner was killed: only the wall time is known


def _outcome(path: Path, done: sandbox.Completed, out_of_memory: bool) -> Outcome:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return Outcome(finished=False, timed_out=done.timed_out, output_tail=done.output[-3000:],
                       limit_hit=done.limit_hit, out_of_memory=out_of_memory)
    return Outcome(True, data.get("exception"), data.get("message", ""), done.timed_out, done.output[-3000:],
                   done.limit_hit, out_of_memory)


def _events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:  # a line cut short by a kill
            pass
    return events
