"""The trusted half of a run: papermill, outside the sandbox, driving a kernel inside it.

Forked by gradekit.run.slots from a zygote that has imported papermill, as `serve(WORK)`: it starts the
kernel from a kernel spec whose command is the sandbox (the assignment's heavy modules imported there
first), waits for the path of the run's spec on stdin, then executes the notebook in that kernel. The kernel
talks to papermill over IPC sockets in a folder that is the only thing the two share besides the work and
output folders. The executed notebook is written here, where student code cannot reach it.

Besides the notebook this process leaves two records for the classification (gradekit.run.classify):
- events.jsonl: one line per event as it happens: the kernel answered (`started`), a cell began
  (`cell`, with its id), the kernel's execute_reply for a cell (`reply`: status, ename, evalue), and what
  gradekit.run.tasked did when a task stopped (`timeout`, `died`, `restarted`);
- outcome.json: how papermill ended: the exception's class and message, or none.
"""
from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

from gradekit.run import cost
from gradekit.platform.cgroup import RunCgroup
from gradekit.platform.sandbox import Confinement, sandbox_ids

KERNEL_NAME = "gradekit-sandbox"


def write_kernel_spec(kernels_dir: Path, confinement: Confinement, group: RunCgroup, preload: tuple[str, ...] = ()) -> None:
    spec_dir = kernels_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    # native writes to fd 1/2 go to the runner (gradekit.run.tasked.StderrTail), not through a pipe inside the
    # kernel: what a C++ abort prints just before it kills the process is then kept for the reason
    command = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--IPKernelApp.capture_fd_output=False"]
    argv = group.enter(confinement.wrap(command + preload_option(preload), memory_cgroup=group.memory_enforced))
    (spec_dir / "kernel.json").write_text(json.dumps(
        # an interrupt travels as a message: bubblewrap starts the kernel in a session of its own (--new-session),
        # out of reach of a signal to the launcher's process group
        {"argv": argv, "display_name": "gradekit sandbox", "language": "python", "interrupt_mode": "message"}, indent=1))


def preload_option(modules: tuple[str, ...]) -> list[str]:
    """The kernel imports these as it starts, before it answers: into sys.modules only, no name is bound in
    the student's namespace (`import torch` in a cell then finds it loaded). A module that fails to import is
    left for the student's own import to report."""
    if not modules:
        return []
    line = f"[__import__(m) for m in {list(modules)!r}] and None"
    return [f"--IPKernelApp.exec_lines={json.dumps([line])}"]


class EventLog:
    """Appends events; each line is flushed at once so that a killed run keeps what happened."""

    def __init__(self, path: str):
        self.path = path

    def write(self, event: str, **fields) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps({"event": event, **fields}) + "\n")

    def hooks(self) -> dict:
        def started(notebook=None, **_):
            self.write("started")

        def cell(cell, cell_index, **_):
            self.write("cell", id=cell.get("id"), index=cell_index)

        def reply(cell, cell_index, execute_reply, **_):
            # The kernel's own verdict on the cell. A student who silences the traceback display removes
            # the error output, not the reply's status.
            content = (execute_reply or {}).get("content", {})
            self.write("reply", id=cell.get("id"), index=cell_index, status=content.get("status"),
                       ename=content.get("ename"), evalue=str(content.get("evalue", ""))[:500])

        return {"on_notebook_start": started, "on_cell_execute": cell, "on_cell_executed": reply}


def limit_output(limit_bytes: int, events: EventLog) -> None:
    """Keep at most `limit_bytes` of output in the executed notebook; past that, outputs are dropped as
    they arrive (papermill never holds them), an `output_exceeded` event names the cell, and the kernel
    is killed."""
    from papermill.clientwrap import PapermillNotebookClient

    keep = PapermillNotebookClient.output
    used, flagged = 0, False

    def output(self, outs, msg, display_id, cell_index):
        nonlocal used, flagged
        used += len(json.dumps(msg.get("content", {})))
        if used > limit_bytes:
            if not flagged:
                flagged = self.output_exceeded = True   # a limit of the whole notebook: the run stops here
                events.write("output_exceeded", id=self.nb.cells[cell_index].get("id"), limit_bytes=limit_bytes)
                process = getattr(getattr(self.km, "provisioner", None), "process", None)
                if process is not None:  # stop the run: the sandbox dies with its launcher
                    process.kill()
            return None
        return keep(self, outs, msg, display_id, cell_index)

    PapermillNotebookClient.output = output


def manager_class():
    """A kernel manager for a kernel in the sandbox."""
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets import CaselessStrEnum, default

    class SandboxKernelManager(AsyncKernelManager):
        # TCP would need the host's network inside the sandbox; unix sockets need only a shared folder.
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        @default("connection_file")
        def _connection_file_in_runtime_dir(self) -> str:
            # The default is a file in the host's /tmp, which the sandbox cannot see; the sockets sit next to it.
            return os.path.join(jupyter_runtime_dir(), f"kernel-{uuid.uuid4().hex[:12]}.json")

        def write_connection_file(self, **kwargs):
            # written 0600 by the trusted side; the kernel runs as the sandbox account and must read it
            result = super().write_connection_file(**kwargs)
            ids = sandbox_ids()
            if ids is not None:
                os.chown(self.connection_file, *ids)
            return result

    return SandboxKernelManager


START_TIMEOUT_S = 120


def start_kernel(cwd: str, stderr):
    """A started kernel manager whose kernel answers (its imports done), or None when it did not start: the
    run then starts one itself and reports what went wrong there. The kernel's stderr goes to `stderr`
    (gradekit.run.tasked.StderrTail), also after a restart."""
    from jupyter_core.utils import run_sync

    km = manager_class()(kernel_name=KERNEL_NAME)
    try:
        run_sync(km.start_kernel)(cwd=cwd, stderr=stderr.write_fd)
        client = km.client()
        client.start_channels()
        try:
            run_sync(client.wait_for_ready)(timeout=START_TIMEOUT_S)
        finally:
            client.stop_channels()
        return km
    except Exception as exc:
        print(f"the kernel made ready ahead did not start ({type(exc).__name__}: {str(exc)[:300]}); starting one "
              f"for the run", file=sys.stderr)
        stop_kernel(km)
        return None


def stop_kernel(km) -> None:
    from jupyter_core.utils import run_sync

    try:
        if km is not None and km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
    except Exception:
        pass   # the sandbox dies with this process anyway (bubblewrap --die-with-parent)


def serve(workdir: str) -> int:
    """Start the kernel, wait for the run's spec path on stdin (end of file: the slot was never used), run."""
    from jupyter_core.utils import run_sync

    from gradekit.run.tasked import StderrTail

    stderr = StderrTail()
    km = start_kernel(workdir, stderr)
    spec_path = sys.stdin.readline().strip()
    if not spec_path:
        stop_kernel(km)
        return 0
    if km is not None and not run_sync(km.is_alive)():
        print("the kernel made ready ahead had died; starting one for the run", file=sys.stderr)
        stop_kernel(km)
        km = None
    try:
        execute(json.loads(Path(spec_path).read_text()), km, stderr)
    finally:
        stop_kernel(km)
    return 0


def execute(spec: dict, km, stderr) -> None:
    """Execute the notebook as `spec` says, in `km`'s kernel (None: papermill starts one)."""
    import papermill

    from gradekit.run.tasked import ENGINE

    events = EventLog(spec["events"])
    if spec.get("output_limit_bytes"):
        limit_output(spec["output_limit_bytes"], events)
    outcome = {"exception": None, "message": ""}
    meter = cost.Meter(gpu=spec.get("gpu", False))
    try:
        with meter:
            papermill.execute_notebook(
                spec["input"], spec["output"], parameters=spec["parameters"], kernel_name=KERNEL_NAME, language="python",
                cwd=spec["cwd"], execution_timeout=spec["cell_timeout_s"], start_timeout=START_TIMEOUT_S,
                progress_bar=False, log_output=False, request_save_on_cell_execute=True,
                kernel_manager_class=manager_class(), km=km, stderr_tail=stderr, allow_errors=True, engine_name=ENGINE,
                task_plan=spec.get("tasks", {}), event_log=events, **events.hooks())
    except Exception as exc:  # recorded as data; the parent decides what it means
        outcome = {"exception": type(exc).__name__, "message": str(exc)[:2000]}
    outcome["cost"] = meter.report()
    Path(spec["outcome"]).write_text(json.dumps(outcome))
