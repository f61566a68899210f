"""The rules a finished run's folder must meet before it is published into autograded/: regular files and
folders only (a link, pipe, socket or device the student's code left is dropped: a grader must never
follow it out or block on it), at most `files` entries, and a total size within the disk budget. The
local pool applies them to its staging folder; a cluster's client applies them again to what a worker
sends back (gradekit.platform.transfer). What the sandbox account wrote is handed back to the kit's user."""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from gradekit.course.limits import Limits


def budget_bytes(limits: Limits) -> int:
    return limits.disk_bytes


def enforce(folder: Path, limits: Limits) -> list[str]:
    """Make `folder` publishable; return the warnings for the run record."""
    warnings, dropped, count, total = [], [], 0, 0
    owner = (os.geteuid(), os.getegid())
    stack = [folder]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                info = entry.stat(follow_symlinks=False)
                path = Path(entry.path)
                if stat.S_ISDIR(info.st_mode):
                    stack.append(path)
                elif not stat.S_ISREG(info.st_mode):
                    path.unlink()
                    dropped.append(str(path.relative_to(folder)))
                    continue
                else:
                    total += info.st_size
                count += 1
                if (info.st_uid, info.st_gid) != owner:
                    os.lchown(path, *owner)
    if dropped:
        shown = ", ".join(dropped[:5]) + (f" and {len(dropped) - 5} more" if len(dropped) > 5 else "")
        warnings.append(f"what the notebook left that is not a regular file (a link, pipe, socket or device) was "
                        f"dropped: {shown}")
    if total > budget_bytes(limits) or count > limits.files:
        artifacts = folder / "artifacts"
        shutil.rmtree(artifacts, ignore_errors=True)
        artifacts.mkdir()
        warnings.append(f"the run left {count} files, {total >> 20} MB in all; the limits are {limits.files} files "
                        f"(`files`) and {budget_bytes(limits) >> 20} MB (`disk_mb`): its artifacts were dropped")
    return warnings
