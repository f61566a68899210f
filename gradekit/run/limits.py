"""What one run may use: the declared limits of an assignment, and the process-count cap that enforces
one of them (the others are prlimit's, in gradekit.run.sandbox, and the output budget, in
gradekit.run.kernel).

The process cap comes from the cgroup `pids` controller.

RLIMIT_NPROC does not bind root, nor root mapped into a user namespace, so a fork bomb run by a
root-owned runner needs the kernel's pids controller: a cgroup of its own with pids.max, entered by the
launcher before bubblewrap starts, so every descendant is counted. cgroup v1 (/sys/fs/cgroup/pids) and v2
(/sys/fs/cgroup with the pids controller enabled) are both handled; where neither is writable the cap is
missing and the caller records that.
"""
from __future__ import annotations

import os
import signal
import time
import uuid
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    """`[limits]` of assignment.toml (keys in common, then `[limits.smoke]` / `[limits.full]` over them)."""

    cell_timeout_s: int = 1800       # one cell
    notebook_timeout_s: int = 7200   # the whole notebook, kernel start included
    memory_mb: int = 8192            # address space of the kernel (not with a GPU)
    processes: int = 256             # processes and threads of the kernel, all descendants
    output_mb: int = 50              # printed output kept, and the largest file the notebook may write
    gpu: bool = False                # with --device auto, a run takes a cluster worker's GPU slot

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]


_V1 = Path("/sys/fs/cgroup/pids")
_V2 = Path("/sys/fs/cgroup")


def _parent() -> Path | None:
    if (_V1 / "cgroup.procs").exists() and os.access(_V1, os.W_OK):
        return _V1
    controllers = _V2 / "cgroup.subtree_control"
    if controllers.exists() and "pids" in controllers.read_text().split() and os.access(_V2, os.W_OK):
        return _V2
    return None


class PidsCgroup:
    """`with PidsCgroup(256) as group:` then launch `group.enter(cmd)`; on exit every process left in the
    group is killed and the group removed."""

    def __init__(self, max_processes: int):
        self.max = max_processes
        self.path: Path | None = None

    def __enter__(self) -> "PidsCgroup":
        parent = _parent()
        if parent is not None:
            path = parent / f"gradekit-{uuid.uuid4().hex[:12]}"
            try:
                path.mkdir()
                (path / "pids.max").write_text(str(self.max))
                self.path = path
            except OSError:
                self.path = None
        return self

    @property
    def enforced(self) -> bool:
        return self.path is not None

    def enter(self, cmd: list[str]) -> list[str]:
        """`cmd`, started from inside the group (a shell joins it, then execs the command)."""
        if self.path is None:
            return cmd
        return ["/bin/sh", "-c", f'echo $$ > {self.path}/cgroup.procs && exec "$@"', "gradekit-cgroup", *cmd]

    def __exit__(self, *exc) -> None:
        if self.path is None:
            return
        for _ in range(50):  # kill what is left (a fork bomb's children) until the group is empty
            pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        try:
            self.path.rmdir()
        except OSError:
            pass
