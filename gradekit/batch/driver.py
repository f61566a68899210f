"""The batch driver: hand a stage's work for each student to an executor (the local pool or Dask), show
progress, and give back one typed result per student.

A stage (gradekit.run.stage.RunStage, gradekit.grading.stage.GradeStage) says what is already settled (an
unchanged run, a run the machinery could not complete), what one student's work is here and on a cluster
worker, how to take what comes back, and what stands on the student's row when no worker could do it. The
driver knows no stage: it never opens a notebook or a grade file."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from tqdm import tqdm

from gradekit.data.catalog import Catalog
from gradekit.platform.executors import Call, Failed, Refused, results_retrying_refusals, show_in_flight, worker_name
from gradekit.platform.untrusted import for_terminal

R = TypeVar("R")


@dataclass(frozen=True)
class Work:
    """One student's work: a function and its arguments (picklable, for a cluster worker)."""

    fn: Callable
    args: tuple
    needs: tuple[tuple[str, float], ...] = ()   # a cluster's abstract resources: GPU slots, memory


@dataclass(frozen=True)
class Ready:
    """What a cluster worker checks once before its first task: the data root is there and readable."""

    catalog: Catalog
    data_root: Path
    unsandboxed: bool

    def key(self) -> tuple:
        return str(self.data_root), tuple(sorted(d.name for d in self.catalog)), self.unsandboxed


class Stage(Protocol, Generic[R]):
    verb: str      # "run" / "grade"
    label: str     # the progress bar's: "run ee046211_hw2"
    ready: Ready

    def settled(self, student: str) -> R | None:
        """The student's result without any work (unchanged since the last run), or None."""

    def work(self, student: str, remote: bool, same_machine: bool) -> Work:
        """The student's work, here or (remote) on a cluster worker, which gets packed inputs."""

    def take(self, student: str, outcome: object) -> R | Refused:
        """What the client makes of what the work returned; a Refused when it breaks the publish rules."""

    def unavailable(self, student: str, why: Failed | Refused) -> R:
        """The student's row when the machinery failed or no worker could do it: never the student's fault."""

    def line(self, student: str, result: R) -> str:
        """One line for the terminal."""

    def rerun_alone(self, result: R, beside: int) -> bool:
        """Whether the result may be the machine's load, not the student's (a timeout beside others)."""

    def retaken(self, student: str, first: R, second: R, beside: int) -> R:
        """The result of the run again alone, with the first attempt recorded."""


def drive(stage: Stage[R], students: list[str], executor) -> dict[str, R]:
    results: dict[str, R] = {}
    calls = []
    for student in students:
        settled = stage.settled(student)
        if settled is not None:
            results[student] = settled
            continue
        work = stage.work(student, executor.remote, executor.same_machine)
        fn, args = (on_worker, (stage.ready, work.fn, *work.args)) if executor.remote else (work.fn, work.args)
        calls.append(Call(student, fn, args, work.needs))
    if not calls:
        return results
    bar = tqdm(total=len(students), initial=len(results), unit="submission", desc=stage.label, dynamic_ncols=True)
    beside = min(executor.width, len(calls))
    again = []
    for call, result in _results(stage, executor, calls, bar):
        results[call.key] = result
        if stage.rerun_alone(result, beside):   # not charged yet: it shared the machine
            again.append(call)
            bar.write(for_terminal(f"  {call.key}: {stage.line(call.key, result)[:120]}: run again alone before it counts"))
            continue
        bar.update(1)
        bar.write(for_terminal(f"  {call.key}: {stage.line(call.key, result)}"))
    for call in again:   # one at a time: nothing else of this batch runs beside it
        for _, result in _results(stage, executor, [call], bar):
            results[call.key] = stage.retaken(call.key, results[call.key], result, beside)
            bar.update(1)
            bar.write(for_terminal(f"  {call.key} (alone): {stage.line(call.key, results[call.key])}"))
    bar.close()
    return results


def _results(stage: Stage[R], executor, calls: list[Call], bar):
    def take(call: Call, outcome: object):
        return stage.unavailable(call.key, outcome) if isinstance(outcome, Failed) else stage.take(call.key, outcome)

    def retrying(call: Call, refusal: Refused) -> None:
        bar.write(for_terminal(f"  {call.key}: worker {refusal.worker}: {refusal.reason[:200]}; trying another worker"))

    for call, taken in results_retrying_refusals(executor, calls, show_in_flight(bar), take, retrying):
        # refused twice: the student's row says so; nothing of theirs is charged
        yield call, stage.unavailable(call.key, taken) if isinstance(taken, Refused) else taken


_READY: dict[tuple, str] = {}   # per worker process: "" when ready, else the refusal


def on_worker(ready: Ready, fn: Callable, *args):
    """On a cluster worker: check once per process that the data root is ready and readable as the sandbox
    reads it, then do the work. A worker that is not ready refuses with the reason; the client publishes
    nothing of it and tries another worker."""
    from gradekit.data import preflight
    from gradekit.errors import NotReady

    key = ready.key()
    if key not in _READY:
        try:
            preflight.require_ready(ready.catalog, ready.data_root, unsandboxed=ready.unsandboxed)
            _READY[key] = ""
        except NotReady as refusal:
            _READY[key] = str(refusal)
    if _READY[key]:
        return Refused(worker_name(), _READY[key])
    return fn(*args)
