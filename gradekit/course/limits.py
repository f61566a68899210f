"""What one run may use, as an assignment declares it (`[limits]` of assignment.toml). The mechanisms
that enforce it are the platform's: gradekit.platform.cgroup and gradekit.platform.sandbox."""
from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Limits:
    """`[limits]` of assignment.toml (keys in common, then `[limits.smoke]` / `[limits.full]` over them)."""

    cell_timeout_s: int = 1800       # one cell
    notebook_timeout_s: int = 7200   # the whole notebook, from the moment its kernel (started ahead) gets it
    memory_mb: int = 8192            # address space of the kernel (not with a GPU)
    processes: int = 256             # processes and threads of the kernel, all descendants
    output_mb: int = 50              # printed output kept, and the largest file the notebook may write
    tmp_mb: int = 512                # the sandbox's /tmp, and its /dev/shm, each (memory, counted in memory_mb)
    disk_mb: int = 0                 # all the run writes (work folder and outputs); 0: ten times output_mb
    files: int = 10000               # files and folders the run may create
    gpu: bool = False                # with --device auto, a run takes a cluster worker's GPU slot

    @property
    def disk_bytes(self) -> int:
        return (self.disk_mb or 10 * self.output_mb) << 20

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]
