"""What a run came to, decided from data alone: the executed notebook, the events the trusted papermill
process recorded (gradekit.run.kernel) and the outcome record. No free text is searched.

`classify` is a pure function; tests/test_classify.py holds its table.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from gradekit.records import CellError, CellRecord
from gradekit.run.limits import Limits

# Outcomes a run can have; anything but "ok" is a reason in the mark sheet.
OK, ERROR, TIMEOUT, KERNEL_DIED, EXITED_EARLY = "ok", "error", "timeout", "kernel died", "exited early"
NO_NOTEBOOK, INVALID_NOTEBOOK, OUTPUT_TOO_LARGE, SANDBOX_FAILED = (
    "no notebook", "invalid notebook", "output too large", "sandbox refused")
DISK_FULL = "disk budget exceeded"
OUTCOMES = (OK, ERROR, TIMEOUT, KERNEL_DIED, EXITED_EARLY, NO_NOTEBOOK, INVALID_NOTEBOOK, OUTPUT_TOO_LARGE,
            SANDBOX_FAILED, DISK_FULL)

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


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def classify(cells: list, events: list[dict], outcome: Outcome, limits: Limits) -> Verdict:
    """`cells`: the executed notebook's cells (or the staged input's when papermill wrote none)."""
    # Cells are known by id (staging gives every cell one): papermill adds cells of its own after the
    # run, so an index recorded during the run does not point into the executed notebook.
    number_of: dict[str, int] = {}   # cell id -> the cell's number as the student sees it
    number = 0
    for cell in cells:
        if "injected-parameters" in _tags(cell) or "papermill-error-cell-tag" in _tags(cell):
            continue  # added by papermill, not part of what the student handed in
        number += 1
        number_of[cell.get("id")] = number

    replies = {e["id"]: e for e in events if e["event"] == "reply"}
    begun = [e["id"] for e in events if e["event"] == "cell"]
    started = any(e["event"] == "started" for e in events)
    exceeded = next((e for e in events if e["event"] == "output_exceeded"), None)

    verdict = Verdict("", "")
    for cell in cells:
        index = cell.get("id")
        if index not in number_of or cell.get("cell_type") != "code" or not cell.get("source", "").strip():
            continue
        n = number_of[index]
        meta = cell.get("metadata", {}).get("papermill", {})
        verdict.cells.append(CellRecord(n, index in replies, meta.get("status", "pending"), meta.get("duration")))
        shown = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        for err in shown:
            verdict.errors.append(CellError(n, str(err.get("ename")), str(err.get("evalue"))[:500],
                                            _strip_ansi("\n".join(err.get("traceback", [])[-3:]))[-1500:]))
        reply = replies.get(index)
        if reply and reply.get("status") == "error" and not shown:
            # the kernel said error, the notebook shows none: the traceback display was tampered with
            verdict.errors.append(CellError(n, str(reply.get("ename")), str(reply.get("evalue")),
                                            "(no traceback was shown: the error display was disabled)"))

    # the cell that was running when the run stopped: begun, never answered
    unanswered = [i for i in begun if i not in replies]
    running = number_of.get(unanswered[-1]) if unanswered else None
    pending = [c.cell for c in verdict.cells if not c.executed]

    def done(status: str, reason: str) -> Verdict:
        verdict.status, verdict.reason = status, reason
        return verdict

    if not started:
        # no student code ran: the sandbox or the kernel's start failed, never the student's doing
        why = outcome.message or _tail(outcome.output_tail) or "no reason was given"
        return done(SANDBOX_FAILED, f"the kernel could not start in the sandbox: {why[:300]}")
    where = f" in cell {running}" if running else ""
    if outcome.limit_hit == "output":
        return done(OUTPUT_TOO_LARGE, f"the notebook printed more than {limits.output_mb} MB{where} (also counted: "
                                      "output written straight to the process, e.g. to sys.stdout.fileno()); "
                                      "the run was stopped there")
    if outcome.limit_hit == "disk":
        return done(DISK_FULL, f"the notebook's files passed {limits.disk_bytes >> 20} MB{where} (`disk_mb`: all a "
                               "run may write); the run was stopped there")
    if outcome.limit_hit == "files":
        return done(DISK_FULL, f"the notebook created more than {limits.files} files{where} (`files`); the run "
                               "was stopped there")
    if outcome.timed_out:
        where = f" (in cell {running})" if running else ""
        return done(TIMEOUT, f"the notebook ran past its {limits.notebook_timeout_s} s limit{where}")
    if exceeded is not None:
        return done(OUTPUT_TOO_LARGE, f"cell {number_of.get(exceeded['id'], '?')} printed more than "
                                      f"{limits.output_mb} MB; the run was stopped there")
    if outcome.exception == CELL_TIMEOUT:
        return done(TIMEOUT, f"cell {running or '?'} ran past the {limits.cell_timeout_s} s limit per cell")
    if outcome.exception == DEAD_KERNEL or (running is not None and outcome.exception not in (None, CELL_ERROR)):
        if outcome.out_of_memory:
            return done(KERNEL_DIED, f"the kernel died in cell {running or '?'}: it used more than its "
                                     f"{limits.memory_mb} MB of memory (`memory_mb`, /tmp and /dev/shm included)")
        return done(KERNEL_DIED, f"the kernel died in cell {running or '?'} (killed, out of memory, or exited)")
    if not outcome.finished:
        return done(SANDBOX_FAILED, f"the runner stopped unexpectedly: {_tail(outcome.output_tail)[:300]}")
    if verdict.errors:
        first = verdict.errors[0]
        more = f" (and {len(verdict.errors) - 1} more cells with errors)" if len(verdict.errors) > 1 else ""
        too_large = next((e.cell for e in verdict.errors if _file_too_large(e)), None)
        limit = (f"; in cell {too_large} a file passed the {limits.output_mb} MB limit (`output_mb`: the largest file "
                 "a notebook may write)") if too_large is not None else ""
        return done(ERROR, f"cell {first.cell} raised {first.ename}: {first.evalue[:200]}{more}{limit}")
    if pending:
        return done(EXITED_EARLY, f"{len(pending)} code cells never ran (first: cell {pending[0]})")
    if outcome.exception not in (None, CELL_ERROR):
        return done(SANDBOX_FAILED, f"the runner failed: {outcome.exception}: {outcome.message[:300]}")
    return done(OK, "all cells ran")


# a write stopped by the file-size limit (prlimit --fsize; Python ignores SIGXFSZ, so the write fails):
# EFBIG from Python, or torch's zip writer finding its file shorter than what it wrote
_TOO_LARGE = ("File too large", "[Errno 27]", "unexpected pos")


def _file_too_large(error: CellError) -> bool:
    return any(mark in f"{error.evalue}\n{error.last_lines}" for mark in _TOO_LARGE)


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def _tail(text: str, n: int = 6) -> str:
    return " | ".join(line for line in text.strip().splitlines()[-n:])
