"""The trusted half of a run: papermill, outside the sandbox, driving a kernel inside it.

Called by gradekit.run.execute as `python -m gradekit.run.kernel SPEC.json`. The kernel is started from
a kernel spec whose command is the sandbox, and talks to papermill over IPC sockets in a folder that is
the only thing the two share besides the work and output folders. The executed notebook is written
here, where student code cannot reach it.

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


def write_kernel_spec(kernels_dir: Path, confinement: Confinement, group: RunCgroup) -> None:
    spec_dir = kernels_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    # native writes to fd 1/2 go to the runner (gradekit.run.tasked.StderrTail), not through a pipe inside the
    # kernel: what a C++ abort prints just before it kills the process is then kept for the reason
    argv = group.enter(confinement.wrap([sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                                         "--IPKernelApp.capture_fd_output=False"],
                                        memory_cgroup=group.memory_enforced))
    (spec_dir / "kernel.json").write_text(json.dumps(
        # an interrupt travels as a message: bubblewrap starts the kernel in a session of its own (--new-session),
        # out of reach of a signal to the launcher's process group
        {"argv": argv, "display_name": "gradekit sandbox", "language": "python", "interrupt_mode": "message"}, indent=1))


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


def main(spec_path: str) -> None:
    import papermill

    from gradekit.run.tasked import ENGINE
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

    spec = json.loads(Path(spec_path).read_text())
    events = EventLog(spec["events"])
    if spec.get("output_limit_bytes"):
        limit_output(spec["output_limit_bytes"], events)
    outcome = {"exception": None, "message": ""}
    meter = cost.Meter(gpu=spec.get("gpu", False))
    try:
        with meter:
            papermill.execute_notebook(
                spec["input"], spec["output"], parameters=spec["parameters"], kernel_name=KERNEL_NAME, language="python",
                cwd=spec["cwd"], execution_timeout=spec["cell_timeout_s"], start_timeout=120,
                progress_bar=False, log_output=False, request_save_on_cell_execute=True,
                kernel_manager_class=SandboxKernelManager, allow_errors=True, engine_name=ENGINE,
                task_plan=spec.get("tasks", {}), event_log=events, **events.hooks())
    except Exception as exc:  # recorded as data; the parent decides what it means
        outcome = {"exception": type(exc).__name__, "message": str(exc)[:2000]}
    outcome["cost"] = meter.report()
    Path(spec["outcome"]).write_text(json.dumps(outcome))


if __name__ == "__main__":
    main(sys.argv[1])
