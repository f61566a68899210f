"""The records a batch leaves behind, with their declared shape: run.json (one per run), grade.json (one
per grading) and the item results inside it. Every writer and reader goes through these classes, so a
field is renamed in one place and an old file is recognised by its format version.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from gradekit.platform import atomic

# Outcomes a run can have; anything but "ok" is a reason in the mark sheet.
OK, ERROR, TIMEOUT, KERNEL_DIED, EXITED_EARLY = "ok", "error", "timeout", "kernel died", "exited early"
NO_NOTEBOOK, INVALID_NOTEBOOK, OUTPUT_TOO_LARGE, SANDBOX_FAILED = (
    "no notebook", "invalid notebook", "output too large", "sandbox refused")
DISK_FULL, NOT_RUN = "disk budget exceeded", "not run"
OUTCOMES = (OK, ERROR, TIMEOUT, KERNEL_DIED, EXITED_EARLY, NO_NOTEBOOK, INVALID_NOTEBOOK, OUTPUT_TOO_LARGE,
            SANDBOX_FAILED, DISK_FULL, NOT_RUN)

FORMAT = 2            # bump when a field changes meaning; older files are read as far as they fit
RUN_FILE, GRADE_FILE = "run.json", "grade.json"

PRINTED_EXAMPLE = "the printed example"   # the variant of seed 0: the numbers the notebook prints

# what an item's grading came to
PASSED, FAILED, NEEDS_ATTENTION = "passed", "failed", "needs attention"


def _from_dict(cls, data: dict):
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def _load(cls, path: Path):
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return cls.from_dict(data) if isinstance(data, dict) else None


@dataclass
class CellRecord:
    cell: int                     # position among the code cells of the notebook the student handed in
    executed: bool
    status: str                   # papermill's (completed, failed, running, pending), or skipped
    duration_s: float | None = None
    label: str = ""               # how reasons name it: 'code cell 12 [t2-mlp]'
    task: str = ""
    id: str = ""                  # the cell's id in the notebook


@dataclass
class CellError:
    cell: int
    ename: str
    evalue: str
    last_lines: str = ""
    label: str = ""
    task: str = ""


@dataclass
class TaskOutcome:
    """One declared task of a run (a notebook without tasks is one): what stopped it, if anything."""

    name: str
    status: str = "ok"            # a run outcome (gradekit.run.classify): ok, error, timeout, kernel died, not run
    reason: str = ""
    submits: list[str] = field(default_factory=list)   # patterns of "kind:name" the solution submits here
    restart_s: float | None = None   # a kernel restart and setup replay before this task, and what it took


@dataclass
class Attempt:
    """An earlier run of the same submission that the kit did not charge (a timeout under load)."""

    status: str
    reason: str
    load: float                   # the machine's 1-minute load average per core when that run began
    concurrent: int               # submissions run at once beside it


@dataclass
class RunRecord:
    """What happened when a submission ran: autograded/<student>/<assignment>/run.json."""

    student: str = ""
    assignment: str = ""
    status: str = "not run"
    reason: str = "the submission was never run"
    profile: str = ""
    seed: int = 0
    device: str = "cpu"
    data: dict[str, str] = field(default_factory=dict)       # dataset -> provenance (real, standin, rebuilt)
    kit_version: str = ""
    input_sha256: str = ""
    sandboxed: bool = True
    warnings: list[str] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    cells: list[CellRecord] = field(default_factory=list)
    tasks: list[TaskOutcome] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    parameters: dict = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    cost: dict = field(default_factory=dict)     # wall_s, cells_s (the cells alone), cpu_s, peak_memory_mb; gpu_s, peak_gpu_mb; kernel_ready (started ahead)
    skipped: bool = False         # not saved: set when a batch reuses a finished run
    format: int = FORMAT

    @classmethod
    def from_dict(cls, data: dict) -> "RunRecord":
        record = _from_dict(cls, data)
        record.errors = [e if isinstance(e, CellError) else _from_dict(CellError, e) for e in record.errors]
        record.cells = [c if isinstance(c, CellRecord) else _from_dict(CellRecord, c) for c in record.cells]
        record.tasks = [t if isinstance(t, TaskOutcome) else _from_dict(TaskOutcome, t) for t in record.tasks]
        record.attempts = [a if isinstance(a, Attempt) else _from_dict(Attempt, a) for a in record.attempts]
        return record

    def task_of(self, kind: str, name: str) -> "TaskOutcome | None":
        """The task that makes this artifact or answer, as the solution notebook does."""
        key, exact = f"{kind}:{name}", re.escape(f"{kind}:{name}")
        return (next((t for t in self.tasks if exact in t.submits), None)
                or next((t for t in self.tasks if any(re.fullmatch(p, key) for p in t.submits)), None))

    @classmethod
    def load(cls, run_dir: Path) -> "RunRecord | None":
        return _load(cls, Path(run_dir) / RUN_FILE)

    def save(self, run_dir: Path) -> None:
        data = asdict(self)
        data.pop("skipped")
        atomic.write_json(Path(run_dir) / RUN_FILE, data)

    @property
    def standins(self) -> list[str]:
        return [name for name, state in self.data.items() if state == "standin"]

    @property
    def rebuilt(self) -> list[str]:
        """Course files that are not public, rebuilt by their declared recipe from real data."""
        return [name for name, state in self.data.items() if state == "rebuilt"]


@dataclass
class ItemResult:
    """One mark-sheet item as its grader left it. `reason` is written for the student."""

    id: str
    max: float
    points: float = 0.0
    status: str = FAILED          # passed, failed, needs attention
    reason: str = ""              # for the student: never an expected value
    detail: str = ""              # for staff: what went wrong in the grader
    test: str = ""
    matches: str = ""             # for staff: the other variant (a classmate, the printed example) it is right for

    @property
    def needs_attention(self) -> bool:
        return self.status == NEEDS_ATTENTION


@dataclass
class GradeReport:
    """autograded/<student>/<assignment>/grade.json: the items and, when the graders themselves could not
    run, why (a grading error is staff's to look at, never the student's zero)."""

    items: list[ItemResult] = field(default_factory=list)
    profile: str = ""
    grading_error: str = ""
    graders_sha256: str = ""   # grader_tests/<assignment>/ as it graded: a sheet that mixes two is flagged
    format: int = FORMAT

    @classmethod
    def from_dict(cls, data: dict) -> "GradeReport":
        report = _from_dict(cls, data)
        report.items = [i if isinstance(i, ItemResult) else _from_dict(ItemResult, i) for i in report.items]
        return report

    @classmethod
    def load(cls, run_dir: Path) -> "GradeReport | None":
        return _load(cls, Path(run_dir) / GRADE_FILE)

    def save(self, run_dir: Path) -> None:
        atomic.write_json(Path(run_dir) / GRADE_FILE, asdict(self) | {"total": self.total, "max": self.max})

    @property
    def total(self) -> float:
        return round(sum(i.points for i in self.items), 4)

    @property
    def max(self) -> float:
        return sum(i.max for i in self.items)

    @property
    def flags(self) -> list[str]:
        """Wrong answers that are right for one other variant (a classmate's, the printed example's), when that
        variant explains two or more items, or every item: for staff to look at. One number alone can match
        a classmate's by chance; several rarely do."""
        matched: dict[str, list[str]] = {}
        for item in self.items:
            if item.matches:
                matched.setdefault(item.matches, []).append(item.id)
        return [f"answers right for {'the variant of ' if who != PRINTED_EXAMPLE else ''}{who}, not for this "
                f"student's: {', '.join(ids)}" for who, ids in matched.items() if len(ids) >= 2 or len(ids) == len(self.items)]

    @property
    def attention(self) -> list[str]:
        """What staff must look at before this grade is final."""
        found = [f"{i.id}: {i.detail or i.reason}" for i in self.items if i.needs_attention]
        return ([f"grading failed: {self.grading_error}"] if self.grading_error else []) + found
