"""The settings of one batch, built once from the command line and handed to every stage."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    data_root: Path
    profile: str | None = "smoke"   # None (grade): each run is graded with the profile it was made with
    seed: int = 0
    device: str = "cpu"             # cpu, cuda, or auto (a GPU where the assignment asks for one)
    unsandboxed: bool = False       # allowed only where bubblewrap is missing; every report says so
    jobs: int = 1                   # submissions processed at once on this machine
    cluster: str | None = None      # a Dask scheduler address, or local:N
    gpu_slots: int = 0              # with cluster local:N, GPU submissions per worker

    def threads(self, width: int) -> int:
        """CPU threads one submission may use when `width` of them share this machine."""
        return max(1, (os.cpu_count() or 1) // max(1, width))
