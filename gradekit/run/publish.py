"""The rules a finished run's folder must meet before it is published into autograded/: regular files
and folders only (a link the student's code left is dropped: a grader must never follow it out), and a
total size within the output budget. The local pool applies them to its staging folder; a cluster's
client applies them again to what a worker sends back (gradekit.scale.transfer)."""
from __future__ import annotations

import shutil
from pathlib import Path

from gradekit.run.limits import Limits

FOLDER_BUDGET = 10   # the published folder may hold this many times the largest-file limit (`output_mb`)


def budget_bytes(limits: Limits) -> int:
    return FOLDER_BUDGET * (limits.output_mb << 20)


def enforce(folder: Path, limits: Limits) -> list[str]:
    """Make `folder` publishable; return the warnings for the run record."""
    warnings = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            path.unlink()
            warnings.append(f"a symbolic link the notebook left ({path.relative_to(folder)}) was dropped")
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    if total > budget_bytes(limits):
        artifacts = folder / "artifacts"
        shutil.rmtree(artifacts, ignore_errors=True)
        artifacts.mkdir()
        warnings.append(f"the run's files came to {total >> 20} MB, more than {budget_bytes(limits) >> 20} MB "
                        f"({FOLDER_BUDGET} × `output_mb`): its artifacts were dropped")
    return warnings
