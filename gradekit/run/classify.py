"""What a run came to, decided from data alone: the executed notebook, the events the trusted papermill
process recorded (gradekit.run.kernel) and the outcome record. No free text is searched.

`classify` is a pure function; tests/test_classify.py holds its table.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from gradekit.records import (DISK_FULL, ERROR, EXITED_EARLY, KERNEL_DIED, NOT_RUN, OK, OUTPUT_TOO_LARGE, SANDBOX_FAILED,
                              TIMEOUT, CellError, CellRecord, TaskOutcome)
from gradekit.course.limits import Limits
from gradekit.course.tasks import SKIPPED, WHOLE, TaskPlan

# papermill's exceptions, by class name, as the kernel child records them
CELL_TIMEOUT, DEAD_KERNEL, CELL_ERROR = "CellTimeoutError", "DeadKernelError", "PapermillExecutionError"


@dataclass(frozen=True)
class Outcome:
    """How the papermill child ended, from its outcome.json and from the parent that watched it."""

    finished: bool                    # the child wrote its outcome record (it was not killed)
    exception: str | None = None      # class name of what papermill raised, if anything
    message: str = ""
    timed_out: bool = False           # the whole-notebook wall limit was hit and the child killed
    output_tail: str = ""             # the child's last lines: only ever quoted, never searched
    limit_hit: str = ""               # a budget the parent stopped the run at: "output", "disk" or "files"
    out_of_memory: bool = False       # the run's memory cgroup stopped a process


@dataclass
class Verdict:
    status: str
    reason: str
    cells: list[CellRecord] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    tasks: list[TaskOutcome] = field(default_factory=list)


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _added_by_papermill(cell) -> bool:
    return "injected-parameters" in _tags(cell) or "papermill-error-cell-tag" in _tags(cell)


def cell_labels(cells: list) -> dict[str, tuple[int, str]]:
    """cell id -> (position among code cells, name) of each code cell, as the student sees their notebook:
    'code cell 12 [hw-t2-mlp]' for a cell the release gave (its nbgrader id), 'code cell 13 (under "Task 2")'
    for one the student added (the heading above it)."""
    labels, number, heading = {}, 0, ""
    for cell in cells:
        if _added_by_papermill(cell):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if cell.get("cell_type") == "markdown":
            title = next((line.lstrip("#").strip() for line in source.splitlines() if line.startswith("#")), "")
            heading = title or heading
        elif cell.get("cell_type") == "code":
            number += 1
            grade_id = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
            where = f" [{grade_id}]" if grade_id else f' (under "{heading[:60]}")' if heading else ""
            labels[cell.get("id")] = (number, f"code cell {number}{where}")
    return labels


def classify(cells: list, events: list[dict], outcome: Outcome, limits: Limits, plan: TaskPlan = TaskPlan()) -> Verdict:
    """`cells`: the executed notebook's cells (or the staged input's when papermill wrote none)."""
    reading = _Reading(cells, events, outcome, limits, plan)
    verdict = reading.verdict
    verdict.status, verdict.reason = reading.status()
    verdict.tasks = reading.task_outcomes()
    return verdict


class _Reading:
    """One run's cells and events, read once; its status, its reason and its tasks' outcomes."""

    def __init__(self, cells: list, events: list[dict], outcome: Outcome, limits: Limits, plan: TaskPlan):
        # Cells are known by id (staging gives every cell one): papermill adds cells of its own after the
        # run, so an index recorded during the run does not point into the executed notebook.
        self.shown = [c for c in cells if not _added_by_papermill(c)]
        self.labels = cell_labels(self.shown)
        self.split = plan.split(self.shown)
        self.outcome, self.limits = outcome, limits
        self.task_of = {self.shown[i].get("id"): task for task, indices in self.split.items() for i in indices}
        self.replies = {e["id"]: e for e in events if e["event"] == "reply"}
        self.started = any(e["event"] == "started" for e in events)
        self.exceeded = next((e for e in events if e["event"] == "output_exceeded"), None)
        self.stops = {e["task"]: e for e in events if e["event"] in ("timeout", "died")}
        self.restarts = {e["task"]: e for e in events if e["event"] == "restarted"}
        # the cell that was running when the run stopped: begun, never answered
        stopped_cells = {e["id"] for e in self.stops.values()}
        unanswered = [e["id"] for e in events if e["event"] == "cell"
                      and e["id"] not in self.replies and e["id"] not in stopped_cells]
        self.running = unanswered[-1] if unanswered else None
        self.declared = plan.declared_any and WHOLE not in self.split
        self.verdict = Verdict("", "")
        for cell in self.shown:
            self._read_cell(cell, stopped_cells)

    def label(self, cell_id) -> str:
        return self.labels.get(cell_id, (0, "a cell"))[1]

    def _read_cell(self, cell: dict, stopped_cells: set) -> None:
        cid = cell.get("id")
        if cid not in self.labels or not cell.get("source", "").strip():
            return
        n, name, task = self.labels[cid][0], self.labels[cid][1], self.task_of.get(cid, "")
        meta = cell.get("metadata", {}).get("papermill", {})
        self.verdict.cells.append(CellRecord(n, cid in self.replies, meta.get("status", "pending"), meta.get("duration"),
                                             name, task, cid))
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"
                  # the KeyboardInterrupt of a cell the kit interrupted is the kit's doing, said by the stop itself
                  and not (o.get("ename") == "KeyboardInterrupt" and cid in stopped_cells)]
        for err in errors:
            self.verdict.errors.append(CellError(n, str(err.get("ename")), str(err.get("evalue"))[:500],
                                                 _strip_ansi("\n".join(err.get("traceback", [])[-3:]))[-1500:], name,
                                                 task))
        reply = self.replies.get(cid)
        if reply and reply.get("status") == "error" and not errors:
            # the kernel said error, the notebook shows none: the traceback display was tampered with
            self.verdict.errors.append(CellError(n, str(reply.get("ename")), str(reply.get("evalue")),
                                                 "(no traceback was shown: the error display was disabled)", name, task))

    def named(self, task: str, reason: str) -> str:
        return f"{task}: {reason}" if self.declared else reason

    def raised(self, error: CellError) -> str:
        return _raised(error, self.limits)

    def task_stop(self, task: str) -> tuple[str, str]:
        event, limits = self.stops[task], self.limits
        if event["event"] == "timeout":
            return TIMEOUT, f"{self.label(event['id'])} ran past the {limits.cell_timeout_s} s limit per cell"
        exit_words = event.get("exit_words") or "no exit status"
        if self.outcome.out_of_memory and event.get("exit") in (137, -9, None):
            return KERNEL_DIED, (f"the kernel died in {self.label(event['id'])}: it used more than its "
                                 f"{limits.memory_mb} MB of memory (`memory_mb`, /tmp and /dev/shm included)")
        said = f"; its last lines: {event['last_lines'][-600:]}" if event.get("last_lines") else ""
        return KERNEL_DIED, f"the kernel died in {self.label(event['id'])} ({exit_words}){said}"

    def status(self) -> tuple[str, str]:
        """The run's status and reason: the first of the machinery's stops, the limits, the tasks, the cells."""
        for check in (self._machinery, self._limit_hit, self._stopped, self._cells):
            found = check()
            if found is not None:
                return found
        return OK, "all cells ran"

    def _machinery(self) -> tuple[str, str] | None:
        outcome = self.outcome
        if not self.started:   # no student code ran: the sandbox or the kernel's start failed, never the student's doing
            why = outcome.message or _tail(outcome.output_tail) or "no reason was given"
            return SANDBOX_FAILED, f"the kernel could not start in the sandbox: {why[:300]}"
        return None

    def _limit_hit(self) -> tuple[str, str] | None:
        outcome, limits = self.outcome, self.limits
        where = f" in {self.label(self.running)}" if self.running else ""
        if outcome.limit_hit == "output":
            return OUTPUT_TOO_LARGE, (f"the notebook printed more than {limits.output_mb} MB{where} (also counted: "
                                      "output written straight to the process, e.g. to sys.stdout.fileno()); "
                                      "the run was stopped there")
        if outcome.limit_hit == "disk":
            return DISK_FULL, (f"the notebook's files passed {limits.disk_bytes >> 20} MB{where} (`disk_mb`: all a "
                               "run may write); the run was stopped there")
        if outcome.limit_hit == "files":
            return DISK_FULL, (f"the notebook created more than {limits.files} files{where} (`files`); the run "
                               "was stopped there")
        if outcome.timed_out:
            return TIMEOUT, f"the notebook ran past its {limits.notebook_timeout_s} s limit{f' ({where[1:]})' if where else ''}"
        if self.exceeded is not None:
            return OUTPUT_TOO_LARGE, (f"{self.label(self.exceeded['id'])} printed more than {limits.output_mb} MB; "
                                      "the run was stopped there")
        if outcome.finished and self.running is None and outcome.exception not in (None, CELL_ERROR, CELL_TIMEOUT,
                                                                                      DEAD_KERNEL):
            # the trusted runner itself failed between cells: the kit's fault, for staff to look at
            return SANDBOX_FAILED, f"the runner failed: {outcome.exception}: {outcome.message[:300]}"
        return None

    def _stopped(self) -> tuple[str, str] | None:
        """A task stopped by the kit (timeout, dead kernel), or the notebook's kernel without tasks."""
        outcome, running = self.outcome, self.running
        stopped = [task for task in self.split if task in self.stops]
        if stopped:
            status, reason = self.task_stop(stopped[0])
            order = list(self.split)
            later = [t for t in order if order.index(t) > order.index(stopped[0])]
            went_on = "; the run went on with the next task" if later and any(t not in self.stops for t in later) else ""
            more = f" (and {len(stopped) - 1} more task{'s' if len(stopped) > 2 else ''} stopped)" if len(stopped) > 1 else ""
            return status, self.named(stopped[0], reason) + went_on + more
        cell = self.label(running) if running else "a cell"
        if outcome.exception == CELL_TIMEOUT:
            return TIMEOUT, f"{cell} ran past the {self.limits.cell_timeout_s} s limit per cell"
        if outcome.exception == DEAD_KERNEL or (running is not None and outcome.exception not in (None, CELL_ERROR)):
            if outcome.out_of_memory:
                return KERNEL_DIED, (f"the kernel died in {cell}: it used more than its {self.limits.memory_mb} MB of "
                                     "memory (`memory_mb`, /tmp and /dev/shm included)")
            return KERNEL_DIED, f"the kernel died in {cell} (killed, out of memory, or exited)"
        if not outcome.finished:
            return SANDBOX_FAILED, f"the runner stopped unexpectedly: {_tail(outcome.output_tail)[:300]}"
        return None

    def _cells(self) -> tuple[str, str] | None:
        errors, outcome = self.verdict.errors, self.outcome
        if errors:
            more = f" (and {len(errors) - 1} more cells with errors)" if len(errors) > 1 else ""
            return ERROR, self.named(errors[0].task, self.raised(errors[0])) + more
        pending = [c for c in self.verdict.cells if not c.executed and c.status != SKIPPED]
        if pending:
            return EXITED_EARLY, f"{len(pending)} code cells never ran (first: {pending[0].label})"
        if outcome.exception not in (None, CELL_ERROR):
            return SANDBOX_FAILED, f"the runner failed: {outcome.exception}: {outcome.message[:300]}"
        return None

    def task_outcomes(self) -> list[TaskOutcome]:
        """One outcome per task that has code: its own stop, else its own first error, else whether it ran."""
        outcomes, self.stopped_in = [], None
        cells_by_task: dict[str, list[CellRecord]] = {}
        for record in self.verdict.cells:
            cells_by_task.setdefault(record.task, []).append(record)
        for task in self.split:
            if cells_by_task.get(task):
                outcomes.append(self._task_outcome(task, cells_by_task[task]))
        return outcomes

    def _task_outcome(self, task: str, records: list[CellRecord]) -> TaskOutcome:
        verdict, restart = self.verdict, self.restarts.get(task)
        outcome = TaskOutcome(task, restart_s=restart["seconds"] if restart else None)
        errors = [e for e in verdict.errors if e.task == task]
        if restart and not restart.get("ok"):
            outcome.status, outcome.reason = NOT_RUN, f"not run: {restart.get('why')}"
            self.stopped_in = self.stopped_in or f"{task}: {restart.get('why')}"
        elif task in self.stops:
            outcome.status, outcome.reason = self.task_stop(task)
        elif self.running is not None and any(r.id == self.running for r in records):
            outcome.status, outcome.reason = verdict.status, verdict.reason
            self.stopped_in = verdict.reason
        elif self.stopped_in is not None and not any(r.executed for r in records):
            outcome.status, outcome.reason = NOT_RUN, f"not run: the run had stopped ({self.stopped_in})"
        elif errors:
            outcome.status, outcome.reason = ERROR, self.raised(errors[0])
        elif not all(r.executed for r in records):
            outcome.status = NOT_RUN if not any(r.executed for r in records) else EXITED_EARLY
            outcome.reason = f"not run: {verdict.reason}" if outcome.status == NOT_RUN else verdict.reason
        else:
            outcome.reason = "all cells ran"
        return outcome


def _raised(error: CellError, limits: Limits) -> str:
    limit = (f"; a file passed the {limits.output_mb} MB limit (`output_mb`: the largest file a notebook may "
             "write)") if _file_too_large(error) else ""
    return f"{error.label} raised {error.ename}: {error.evalue[:300]}{limit}"


# a write stopped by the file-size limit (prlimit --fsize; Python ignores SIGXFSZ, so the write fails):
# EFBIG from Python, or torch's zip writer finding its file shorter than what it wrote
_TOO_LARGE = ("File too large", "[Errno 27]", "unexpected pos")


def _file_too_large(error: CellError) -> bool:
    return any(mark in f"{error.evalue}\n{error.last_lines}" for mark in _TOO_LARGE)


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def _tail(text: str, n: int = 6) -> str:
    return " | ".join(line for line in text.strip().splitlines()[-n:])
