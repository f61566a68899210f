"""papermill's notebook client, made to confine a failure to its task (gradekit.course.tasks).

A cell past its time limit is interrupted (an interrupt message on the control channel: the sandbox runs the
kernel in its own session, out of reach of a signal to the launcher's group) and the rest of its task is
skipped; if the kernel does not answer within a grace period, or dies, it is restarted, the parameters and
setup cells are replayed, and the run goes on with the next task. Every step is an event in events.jsonl,
which the classification (gradekit.run.classify) turns into one outcome per task.

The kernel's stderr passes through this process (into the run's log, under its output budget); its last
lines are kept so that a kernel killed by a C++ abort or a signal is reported with what it said last.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from collections import deque

import nbformat
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from traitlets import Any, Dict

from gradekit.course.tasks import SKIPPED, TaskPlan

ENGINE = "gradekit-tasks"
INTERRUPT_GRACE_S = 15      # an interrupted kernel that has not answered by then is restarted


class StderrTail:
    """A pipe for the kernel's stderr: forwarded to this process's stderr, the last lines kept."""

    def __init__(self, keep_bytes: int = 4000):
        self.read_fd, self.write_fd = os.pipe()
        self.tail: deque[bytes] = deque()
        self.kept = 0
        self.keep = keep_bytes
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        while chunk := os.read(self.read_fd, 65536):
            os.write(2, chunk)
            self.tail.append(chunk)
            self.kept += len(chunk)
            while self.kept > self.keep and len(self.tail) > 1:
                self.kept -= len(self.tail.popleft())

    def last_lines(self, n: int = 6) -> str:
        time.sleep(0.2)   # what the dying kernel wrote last is still in the pipe
        text = b"".join(self.tail).decode(errors="replace")
        return " | ".join(line.strip() for line in text.strip().splitlines()[-n:] if line.strip())[-1500:]


def describe_exit(status: int | None) -> str:
    """A kernel's exit status in words; bubblewrap reports a child killed by signal N as 128 + N."""
    if status is None:
        return ""
    number = -status if status < 0 else status - 128 if status > 128 else None
    if number is not None:
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        why = {"SIGABRT": "an abort, e.g. a C++ exception in a library", "SIGKILL": "killed, e.g. at a memory limit",
               "SIGSEGV": "a crash in native code"}.get(name)
        return f"{name}{f' ({why})' if why else ''}, exit status {status}"
    return f"exit status {status}"


class TaskedClient(PapermillNotebookClient):
    task_plan = Dict(default_value={}).tag(config=True)
    event_log = Any(default_value=None)   # gradekit.run.kernel.EventLog

    def __init__(self, *args, stderr_tail: StderrTail | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.stderr = stderr_tail or StderrTail()   # the runner's, when it started the kernel ahead

    async def async_start_new_kernel(self, **kwargs):
        kwargs.setdefault("stderr", self.stderr.write_fd)   # kept for restarts: jupyter_client reuses these
        return await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)   # the base class binds its own in the same way

    def execute(self, **kwargs):
        """papermill's, but the closing kernel_info is asked only of a kernel that still answers: one left
        dead or deaf by the last task (nothing after it to restart for) would fail the whole runner."""
        self.reset_execution_trackers()
        with self.setup_kernel(**kwargs):
            self.responsive = True
            self.papermill_execute_cells()
            if self.responsive:
                info = self.wait_for_reply(self.kc.kernel_info())
                if info is not None:
                    self.nb.metadata["language_info"] = info["content"]["language_info"]
            self.set_widgets_metadata()
        return self.nb

    def papermill_execute_cells(self):
        cells = self.nb.cells
        plan = TaskPlan.from_dict(self.task_plan)
        task_of = {i: task for task, indices in plan.split(cells).items() for i in indices}
        replay = sorted({i for i, c in enumerate(cells) if _is_parameters(c)} | set(plan.setup_cells(cells)))
        stopped, restart = None, False
        for index, cell in enumerate(cells):
            task = task_of[index]
            if task == stopped:
                if cell.cell_type == "code" and cell.source.strip():
                    cell.metadata.papermill["status"] = SKIPPED
                continue
            if restart:
                restart = False
                if not self._restart(task, [cells[i] for i in replay if i < index]):
                    self.responsive = False
                    break
            try:
                self.nb_man.cell_start(cell, index)
                self.execute_cell(cell, index)
            except CellTimeoutError:
                stopped = task
                self._log("timeout", cell, task)
                _show(cell, "CellTimeoutError", f"this cell ran past the {self.timeout} s limit per cell; the rest "
                                                f"of '{task}' was skipped and the run went on with the next task")
                restart = not self._interrupted()
            except DeadKernelError:
                if getattr(self, "output_exceeded", False):
                    self.responsive = False
                    break   # killed for printing past the notebook's output limit: nothing more runs
                stopped, restart = task, True
                status = self._exit_status()
                self._log("died", cell, task, exit=status, exit_words=describe_exit(status),
                          last_lines=self.stderr.last_lines() or _stderr_shown(cell))
                _show(cell, "DeadKernelError", f"the kernel died in this cell ({describe_exit(status) or 'no status'});"
                                               f" the rest of '{task}' was skipped and the kernel restarted")
            finally:
                self.nb_man.cell_complete(cells[index], cell_index=index)
            if restart and all(task_of[i] == task for i in range(index, len(cells))):
                self.responsive = False
                break   # nothing left to run: no restart needed

    def _log(self, event: str, cell, task: str, **fields) -> None:
        if self.event_log is not None:
            self.event_log.write(event, id=cell.get("id"), task=task, **fields)

    def _exit_status(self) -> int | None:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        return process.poll() if process is not None else None

    def _interrupted(self) -> bool:
        """Interrupt the running cell; whether the kernel answers again within the grace period."""
        return run_sync(self._async_interrupted)()

    async def _async_interrupted(self) -> bool:
        try:
            await self.km.interrupt_kernel()
            return await self._answers("pass", INTERRUPT_GRACE_S) is not None
        except Exception:
            return False

    async def _answers(self, code: str, timeout: float) -> dict | None:
        """Run code without recording it; its execute_reply, or None when none came in time."""
        msg_id = self.kc.execute(code, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=left)
            except Exception:   # queue.Empty: no message in time
                return None
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
        return None

    def _restart(self, task: str, replay: list) -> bool:
        started = time.monotonic()
        ok, why = run_sync(self._async_restart)(replay)
        seconds = round(time.monotonic() - started, 2)
        if self.event_log is not None:
            self.event_log.write("restarted", task=task, seconds=seconds, ok=ok, why=why)
        return ok

    async def _async_restart(self, replay: list) -> tuple[bool, str]:
        try:
            await self.km.restart_kernel(now=True)
            # a fresh client: the old one's sockets may never reconnect to the new kernel's
            self.kc.stop_channels()
            self.kc = self.km.client()
            self.kc.start_channels()
            self.kc.allow_stdin = False
            await self.kc.wait_for_ready(timeout=self.startup_timeout)
        except Exception as exc:
            return False, f"the kernel did not start again: {type(exc).__name__}: {str(exc)[:200]}"
        for cell in replay:
            reply = await self._answers(cell.source, self.timeout or 600)
            if reply is None or not await self.km.is_alive():
                return False, f"replaying the setup cell '{_name(cell)}' did not finish"
        return True, ""


def _stderr_shown(cell, n: int = 6) -> str:
    """The cell's last lines on stderr as the notebook shows them (what the kernel sent before it died)."""
    text = "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stderr")
    return " | ".join(line.strip() for line in text.strip().splitlines()[-n:] if line.strip())[-1500:]


def _is_parameters(cell) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return "parameters" in tags or "injected-parameters" in tags


def _name(cell) -> str:
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id") or cell.get("id") or "?"


def _show(cell, ename: str, evalue: str) -> None:
    """An error the student sees in the executed notebook, in the cell it is about."""
    cell.setdefault("outputs", []).append(nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[]))
    cell.metadata.papermill["status"] = "failed"


class TaskedEngine(NBClientEngine):
    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
                                 start_timeout=60, execution_timeout=None, **kwargs):
        kwargs.pop("input_path", None)
        kwargs.pop("timeout", None)
        kwargs.pop("startup_timeout", None)
        return TaskedClient(nb_man, timeout=execution_timeout, startup_timeout=start_timeout, kernel_name=kernel_name,
                            log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file, **kwargs).execute()


papermill_engines.register(ENGINE, TaskedEngine)
