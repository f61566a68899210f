"""The trusted half of a run: papermill, outside the sandbox, driving a kernel inside it.

Called by gradekit.execute as `python -m gradekit.nbrun SPEC.json`. The kernel is started from a
kernel spec whose command is the sandbox, and talks to papermill over IPC sockets in a folder that is
the only thing the two share besides the work and output folders. The executed notebook is written
here, where student code cannot reach it.
"""
from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import papermill
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from traitlets import CaselessStrEnum, default

from gradekit.cgroups import PidsCgroup
from gradekit.sandbox import Confinement

KERNEL_NAME = "gradekit-sandbox"


class SandboxKernelManager(AsyncKernelManager):
    # TCP would need the host's network inside the sandbox; unix sockets need only a shared folder.
    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    @default("connection_file")
    def _connection_file_in_runtime_dir(self) -> str:
        # The default is a file in the host's /tmp, which the sandbox cannot see; the sockets sit next to it.
        return os.path.join(jupyter_runtime_dir(), f"kernel-{uuid.uuid4().hex[:12]}.json")


def write_kernel_spec(kernels_dir: Path, confinement: Confinement, group: PidsCgroup) -> None:
    spec_dir = kernels_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    argv = group.enter(confinement.wrap([sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]))
    (spec_dir / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "gradekit sandbox", "language": "python"}, indent=1))


def reply_recorder(path: str):
    """The kernel's own verdict on each cell (execute_reply), kept outside the sandbox. A student who
    silences the traceback display removes the error output, not the reply's status."""
    def record(cell, cell_index, execute_reply):
        content = (execute_reply or {}).get("content", {})
        with open(path, "a") as f:
            f.write(json.dumps({"id": cell.get("id"), "status": content.get("status"), "ename": content.get("ename"),
                                "evalue": str(content.get("evalue", ""))[:500]}) + "\n")
    return record


def limit_output(limit_bytes: int, flag_path: str) -> None:
    """Keep at most `limit_bytes` of output in the executed notebook; past that, outputs are dropped as
    they arrive (papermill never holds them) and the flag file says which cell went over."""
    from papermill.clientwrap import PapermillNotebookClient

    keep = PapermillNotebookClient.output
    used = 0

    def output(self, outs, msg, display_id, cell_index):
        nonlocal used
        used += len(json.dumps(msg.get("content", {})))
        if used > limit_bytes:
            if not os.path.exists(flag_path):
                cell = self.nb.cells[cell_index]
                Path(flag_path).write_text(json.dumps({"id": cell.get("id"), "limit_bytes": limit_bytes}))
                process = getattr(getattr(self.km, "provisioner", None), "process", None)
                if process is not None:  # stop the run: the sandbox dies with its launcher
                    process.kill()
            return None
        return keep(self, outs, msg, display_id, cell_index)

    PapermillNotebookClient.output = output


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    hooks = {"on_cell_executed": reply_recorder(spec["replies"])} if spec.get("replies") else {}
    if spec.get("output_limit_bytes"):
        limit_output(spec["output_limit_bytes"], spec["output_flag"])
    papermill.execute_notebook(
        spec["input"], spec["output"], parameters=spec["parameters"], kernel_name=KERNEL_NAME,
        cwd=spec["cwd"], execution_timeout=spec["cell_timeout_s"], start_timeout=120,
        progress_bar=False, log_output=False, request_save_on_cell_execute=True,
        kernel_manager_class=SandboxKernelManager, allow_errors=True, **hooks)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1]))
    except Exception as exc:  # the parent reads the executed notebook; this line explains the rest
        print(f"GRADEKIT-NBRUN-FAILED {type(exc).__name__}: {str(exc)[:2000]}", file=sys.stderr)
        sys.exit(3)
