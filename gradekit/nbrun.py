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

from gradekit.sandbox import Confinement

KERNEL_NAME = "gradekit-sandbox"


class SandboxKernelManager(AsyncKernelManager):
    # TCP would need the host's network inside the sandbox; unix sockets need only a shared folder.
    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    @default("connection_file")
    def _connection_file_in_runtime_dir(self) -> str:
        # The default is a file in the host's /tmp, which the sandbox cannot see; the sockets sit next to it.
        return os.path.join(jupyter_runtime_dir(), f"kernel-{uuid.uuid4().hex[:12]}.json")


def write_kernel_spec(kernels_dir: Path, confinement: Confinement) -> None:
    spec_dir = kernels_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    argv = confinement.wrap([sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"])
    (spec_dir / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "gradekit sandbox", "language": "python"}, indent=1))


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    papermill.execute_notebook(
        spec["input"], spec["output"], parameters=spec["parameters"], kernel_name=KERNEL_NAME,
        cwd=spec["cwd"], execution_timeout=spec["cell_timeout_s"], start_timeout=120,
        progress_bar=False, log_output=False, request_save_on_cell_execute=True,
        kernel_manager_class=SandboxKernelManager, allow_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1]))
    except Exception as exc:  # the parent reads the executed notebook; this line explains the rest
        print(f"GRADEKIT-NBRUN-FAILED {type(exc).__name__}: {str(exc)[:2000]}", file=sys.stderr)
        sys.exit(3)
