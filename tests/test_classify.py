"""The run's outcome as a pure function of the executed notebook, the recorded events and the outcome
record: every outcome, on synthetic inputs, in milliseconds."""
from __future__ import annotations

import pytest

from gradekit.run.classify import (ERROR, EXITED_EARLY, KERNEL_DIED, NOT_RUN, OK, OUTPUT_TOO_LARGE, SANDBOX_FAILED, TIMEOUT,
                                   Outcome, classify)
from gradekit.course.limits import Limits
from gradekit.course.tasks import TaskPlan

LIMITS = Limits(cell_timeout_s=20, notebook_timeout_s=90, output_mb=2)


def code(cid: str, tags=(), error: tuple[str, str] | None = None, status="completed") -> dict:
    outputs = [{"output_type": "error", "ename": error[0], "evalue": error[1], "traceback": ["tb"]}] if error else []
    return {"id": cid, "cell_type": "code", "source": f"# {cid}", "outputs": outputs,
            "metadata": {"tags": list(tags), "papermill": {"status": status}}}


PARAMS = code("p", tags=["parameters"])
INJECTED = code("inj", tags=["injected-parameters"])
ERROR_BANNER = {"id": "banner", "cell_type": "markdown", "source": "error", "metadata": {"tags": ["papermill-error-cell-tag"]}}


def notebook(*cells):
    """A papermill-executed notebook: the error banner papermill adds after a failure comes first."""
    return [ERROR_BANNER, PARAMS, INJECTED, *cells]


def events(*replies: tuple[str, str], begun: tuple[str, ...] = (), started=True, extra=()):
    """`replies`: (cell id, reply status) in order; `begun`: cells that started and never replied."""
    out = [{"event": "started"}] if started else []
    for cid, status in [("p", "ok"), ("inj", "ok"), *replies]:
        out += [{"event": "cell", "id": cid}, {"event": "reply", "id": cid, "status": status,
                                                "ename": "RuntimeError" if status == "error" else None, "evalue": "oops"}]
    out += [{"event": "cell", "id": cid} for cid in begun]
    return out + list(extra)


FINISHED = Outcome(finished=True)
TABLE = {
    "all cells ran": (notebook(code("a"), code("b")), events(("a", "ok"), ("b", "ok")), FINISHED,
                      OK, "all cells ran"),
    "a cell raised": (notebook(code("a", error=("RuntimeError", "oops")), code("b")),
                      events(("a", "error"), ("b", "ok")), Outcome(True, "PapermillExecutionError"),
                      ERROR, "code cell 2 raised RuntimeError: oops"),
    "a file past the size limit": (notebook(code("a", error=("RuntimeError", "[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")), code("b")),
                                   events(("a", "error"), ("b", "ok")), Outcome(True, "PapermillExecutionError"),
                                   ERROR, "; a file passed the 2 MB limit (`output_mb`"),
    "a hidden traceback": (notebook(code("a"), code("b")), events(("a", "ok"), ("b", "error")), FINISHED,
                           ERROR, "code cell 3 raised RuntimeError: oops"),
    "a cell past its limit": (notebook(code("a"), code("b", status="running")), events(("a", "ok"), begun=("b",)),
                              Outcome(True, "CellTimeoutError", "Cell execution timed out"),
                              TIMEOUT, "code cell 3 ran past the 20 s limit per cell"),
    "the notebook past its limit": (notebook(code("a"), code("b")), events(("a", "ok"), begun=("b",)),
                                    Outcome(False, timed_out=True), TIMEOUT, "past its 90 s limit (in code cell 3)"),
    "the kernel died in a middle cell": (notebook(code("a"), code("b"), code("c")), events(("a", "ok"), begun=("b",)),
                                         Outcome(True, "DeadKernelError", "Kernel died"),
                                         KERNEL_DIED, "the kernel died in code cell 3"),
    # os._exit(1) in the student's first cell: the cell that died, not a cell that never ran
    "the kernel died in the first cell": (notebook(code("a"), code("b"), code("c")), events(begun=("a",)),
                                          Outcome(True, "DeadKernelError", "Kernel died"),
                                          KERNEL_DIED, "the kernel died in code cell 2"),
    "the kernel died in the parameters cell": ([PARAMS, INJECTED, code("a")], [{"event": "started"}, {"event": "cell", "id": "p"}],
                                               Outcome(True, "DeadKernelError"), KERNEL_DIED, "the kernel died in code cell 1"),
    "too much output": (notebook(code("a"), code("b")),
                        events(("a", "ok"), begun=("b",), extra=[{"event": "output_exceeded", "id": "b"}]),
                        Outcome(True, "DeadKernelError"), OUTPUT_TOO_LARGE, "code cell 3 printed more than 2 MB"),
    "cells left unexecuted": (notebook(code("a"), code("b")), events(("a", "ok")), FINISHED,
                              EXITED_EARLY, "1 code cells never ran (first: code cell 3)"),
    "the kernel never started": (notebook(code("a")), [], Outcome(True, "RuntimeError", "Kernel didn't respond in 120 seconds"),
                                 SANDBOX_FAILED, "could not start in the sandbox: Kernel didn't respond"),
    "the sandbox refused to start": (notebook(code("a")), [], Outcome(False, output_tail="bwrap: Can't bind mount /x"),
                                     SANDBOX_FAILED, "bwrap: Can't bind mount /x"),
    "the runner itself was killed": (notebook(code("a")), events(("a", "ok")), Outcome(False, output_tail="Killed"),
                                     SANDBOX_FAILED, "the runner stopped unexpectedly: Killed"),
}


@pytest.mark.parametrize("case", sorted(TABLE))
def test_classification_table(case):
    cells, evts, outcome, status, reason = TABLE[case]
    verdict = classify(cells, evts, outcome, LIMITS)
    assert (verdict.status, reason in verdict.reason) == (status, True), verdict.reason


def test_cells_are_numbered_as_the_student_sees_them():
    verdict = classify(notebook(code("a"), code("b", error=("ValueError", "bad"))), events(("a", "ok"), ("b", "error")),
                       Outcome(True, "PapermillExecutionError"), LIMITS)
    assert [(c.cell, c.executed) for c in verdict.cells] == [(1, True), (2, True), (3, True)]
    assert [(e.cell, e.ename) for e in verdict.errors] == [(3, "ValueError")]


# --- tasks: a failure confined to its own task (gradekit.run.tasked leaves the events) -----------------------
PLAN = TaskPlan.declared({"setup": ["setup"], "starts": [{"name": "Task 1", "at": "t1"}, {"name": "Task 2", "at": "t2"}]})


def heading(cid: str, text: str) -> dict:
    return {"id": cid, "cell_type": "markdown", "source": text, "metadata": {}}


def tasked(first_status="completed", second_status="completed") -> list:
    given = code("a", tags=["t1"], status=first_status)
    given["metadata"]["nbgrader"] = {"grade_id": "hw-t1-train"}
    return [PARAMS, INJECTED, code("s", tags=["setup"]), heading("h1", "## Task 1 – train"), given,
            code("a2", status="skipped" if first_status == "failed" else "completed"), heading("h2", "## Task 2"),
            code("b", tags=["t2"], status=second_status)]


def test_a_timeout_costs_only_its_task():
    evts = events(("s", "ok"), begun=("a",), extra=[
        {"event": "timeout", "id": "a", "task": "Task 1"},
        {"event": "cell", "id": "b"}, {"event": "reply", "id": "b", "status": "ok"}])
    verdict = classify(tasked("failed"), evts, Outcome(True, "PapermillExecutionError"), LIMITS, PLAN)
    assert verdict.status == TIMEOUT
    assert verdict.reason == ("Task 1: code cell 3 [hw-t1-train] ran past the 20 s limit per cell; the run went on "
                              "with the next task")
    assert [(t.name, t.status) for t in verdict.tasks] == [("Preamble", OK), ("Task 1", TIMEOUT), ("Task 2", OK)]
    assert [(c.label, c.status) for c in verdict.cells][3:] == [('code cell 4 (under "Task 1 – train")', "skipped"),
                                                              ('code cell 5 (under "Task 2")', "completed")]


def test_a_dead_kernel_is_named_with_its_signal_and_last_words():
    evts = events(("s", "ok"), begun=("a",), extra=[
        {"event": "died", "id": "a", "task": "Task 1", "exit": 134, "exit_words": "SIGABRT (an abort), exit status 134",
         "last_lines": "terminate called after throwing an instance of 'c10::Error'"},
        {"event": "restarted", "task": "Task 2", "seconds": 4.2, "ok": True, "why": ""},
        {"event": "cell", "id": "b"}, {"event": "reply", "id": "b", "status": "ok"}])
    verdict = classify(tasked("failed"), evts, Outcome(True, "PapermillExecutionError"), LIMITS, PLAN)
    assert verdict.status == KERNEL_DIED
    assert "the kernel died in code cell 3 [hw-t1-train] (SIGABRT (an abort), exit status 134)" in verdict.reason
    assert "c10::Error" in verdict.reason
    task2 = verdict.tasks[-1]
    assert (task2.status, task2.restart_s) == (OK, 4.2)


def test_a_kernel_that_cannot_restart_leaves_later_tasks_not_run():
    evts = events(("s", "ok"), begun=("a",), extra=[
        {"event": "died", "id": "a", "task": "Task 1", "exit": 137, "exit_words": "SIGKILL", "last_lines": ""},
        {"event": "restarted", "task": "Task 2", "seconds": 1.0, "ok": False, "why": "replaying the setup cell 's' did not finish"}])
    verdict = classify(tasked("failed", "pending"), evts, Outcome(True, "PapermillExecutionError"), LIMITS, PLAN)
    assert verdict.tasks[-1].status == NOT_RUN and "replaying the setup cell" in verdict.tasks[-1].reason


def test_a_notebook_without_tasks_is_one_task():
    verdict = classify(notebook(code("a", error=("ValueError", "bad"))), events(("a", "error")),
                       Outcome(True, "PapermillExecutionError"), LIMITS)
    assert [(t.name, t.status) for t in verdict.tasks] == [("Notebook", ERROR)]
    assert verdict.reason == "code cell 2 raised ValueError: bad"
