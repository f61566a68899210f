"""What a run cost, measured from outside the sandbox while it runs (the kernel's own view is the
student's to tamper with): every half second the runner reads /proc for its descendants (the kernel and
whatever it started) and, with a GPU, nvidia-smi's compute processes.

- cpu_s: the descendants' CPU time (user + system, their waited-for children included), as last seen;
- peak_memory_mb: the largest resident size the tree reached (sum over its processes at a sample, or one
  process's own high-water mark, whichever is larger);
- gpu_s: seconds in which one of them held a GPU context; peak_gpu_mb: their largest GPU memory.
A process that ends between two samples loses at most its last half second of CPU time."""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _tree(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier and pid not in found}
        found |= frontier
    return found


def _usage(pid: int) -> tuple[float, float, float] | None:
    """(cpu seconds incl. waited-for children, resident MB, high-water resident MB) of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text()
    except (OSError, IndexError):
        return None
    cpu = sum(int(f) for f in fields[11:15]) / _TICK      # utime, stime, cutime, cstime
    memory = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in status.splitlines()
              if line.startswith(("VmRSS:", "VmHWM:"))}
    return cpu, memory.get("VmRSS", 0.0), memory.get("VmHWM", 0.0)


class Meter:
    def __init__(self, gpu: bool, interval_s: float = 0.5):
        self.interval_s = interval_s
        self.smi = shutil.which("nvidia-smi") if gpu else None
        self.cpu: dict[int, float] = {}
        self.peak_mb = 0.0
        self.gpu_s, self.peak_gpu_mb = 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ticks = 0
        self.base: dict[int, float] = {}

    def __enter__(self) -> "Meter":
        # a kernel started ahead has spent CPU on its start and imports: not this run's cost
        self.base = {pid: found[0] for pid in _tree(os.getpid()) if (found := _usage(pid))}
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._sample()   # the last state: a run shorter than one interval is measured too

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            ours = self._sample()
            self._ticks += 1
            if self.smi and self._ticks % 2 == 0:
                self._sample_gpu(ours)

    def _sample(self) -> set[int]:
        ours = _tree(os.getpid())
        resident = 0.0
        for pid in ours:
            found = _usage(pid)
            if found:
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), found[0])
                resident += found[1]
                self.peak_mb = max(self.peak_mb, found[2])
        self.peak_mb = max(self.peak_mb, resident)
        return ours

    def _sample_gpu(self, ours: set[int]) -> None:
        try:
            out = subprocess.run([self.smi, "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return
        used = []
        for line in out.splitlines():
            pid, _, memory = line.partition(",")
            try:
                if int(pid) in ours:
                    used.append(float(memory))
            except ValueError:
                continue
        if used:
            self.gpu_s += 2 * self.interval_s
            self.peak_gpu_mb = max(self.peak_gpu_mb, sum(used))

    def report(self) -> dict:
        found = {"cpu_s": round(sum(cpu - self.base.get(pid, 0.0) for pid, cpu in self.cpu.items()), 2), "peak_memory_mb": round(self.peak_mb, 1)}
        if self.gpu_s:
            found |= {"gpu_s": round(self.gpu_s, 1), "peak_gpu_mb": round(self.peak_gpu_mb, 1)}
        return found
