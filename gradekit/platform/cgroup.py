"""The cgroup that enforces a run's process and memory caps (the other limits are prlimit's and
bubblewrap's, in gradekit.platform.sandbox, the output budget's and the disk budget's, in
gradekit.run.kernel and gradekit.platform.sandbox).

The process cap comes from the cgroup `pids` controller; the memory cap from the `memory` controller,
which also charges the pages of the sandbox's own /tmp and /dev/shm (tmpfs) to the run.

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
from pathlib import Path


_V1 = Path("/sys/fs/cgroup")          # one hierarchy per controller: pids/, memory/
_V2 = Path("/sys/fs/cgroup")          # the unified hierarchy, when it has the controllers
_V2_ALT = Path("/sys/fs/cgroup/unified")


def _writable(path: Path) -> bool:
    return (path / "cgroup.procs").exists() and os.access(path, os.W_OK)


def _parents() -> dict[str, Path]:
    """controller -> the folder its run groups are made in (cgroup v1 per controller, else v2)."""
    found = {c: _V1 / c for c in ("pids", "memory") if _writable(_V1 / c)}
    for v2 in (_V2, _V2_ALT):
        control = v2 / "cgroup.subtree_control"
        if control.exists() and os.access(v2, os.W_OK):
            enabled = control.read_text().split()
            found.update({c: v2 for c in ("pids", "memory") if c in enabled and c not in found})
    return found


class RunCgroup:
    """`with RunCgroup(processes, memory_mb) as group:` then launch `group.enter(cmd)`: every descendant is
    counted against the process cap and the memory cap (anonymous memory and the sandbox's tmpfs pages,
    /tmp and /dev/shm, alike); on exit every process left in the group is killed and the group removed."""

    def __init__(self, max_processes: int, memory_mb: int | None = None):
        self.max, self.memory_mb = max_processes, memory_mb
        self.paths: dict[str, Path] = {}

    def __enter__(self) -> "RunCgroup":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> "RunCgroup":
        """Make the group (also usable outside a `with`, by a holder that outlives one call)."""
        name = f"gradekit-{uuid.uuid4().hex[:12]}"
        settings = {"pids": [("pids.max", str(self.max))]}
        if self.memory_mb:
            limit = str(self.memory_mb << 20)
            settings["memory"] = [("memory.limit_in_bytes", limit), ("memory.max", limit), ("memory.swap.max", "0")]
        for controller, parent in _parents().items():
            if controller not in settings:
                continue
            path = parent / name
            try:
                path.mkdir(exist_ok=True)
                for key, value in settings[controller]:
                    if (path / key).exists():
                        (path / key).write_text(value)
                self.paths[controller] = path
            except OSError:
                pass
        return self

    @property
    def enforced(self) -> bool:
        """The process cap is in force."""
        return "pids" in self.paths

    @property
    def memory_enforced(self) -> bool:
        return "memory" in self.paths

    def enter(self, cmd: list[str]) -> list[str]:
        """`cmd`, started from inside the group (a shell joins it, then execs the command)."""
        folders = sorted(set(self.paths.values()))
        if not folders:
            return cmd
        joins = " && ".join(f"echo $$ > {p}/cgroup.procs" for p in folders)
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "gradekit-cgroup", *cmd]

    def out_of_memory(self) -> bool:
        """Whether the memory cap stopped something in this group (the kernel then kills a process)."""
        path = self.paths.get("memory")
        if path is None:
            return False
        for name, key in (("memory.events", "oom_kill"), ("memory.oom_control", "oom_kill"), ("memory.failcnt", None)):
            try:
                text = (path / name).read_text()
            except OSError:
                continue
            if key is None:
                return int(text.strip() or 0) > 0
            for line in text.splitlines():
                if line.startswith(key + " "):
                    return int(line.split()[1]) > 0
        return False

    def close(self) -> None:
        """Kill every process left in the group and remove it."""
        for path in sorted(set(self.paths.values())):
            for _ in range(50):  # kill what is left (a fork bomb's children) until the group is empty
                try:
                    pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
                except OSError:
                    break
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.1)
            try:
                path.rmdir()
            except OSError:
                pass
