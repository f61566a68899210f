"""The graders' items as pytest collects them (nothing graded): id, points and public checks, in order."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from gradekit.course import Assignment
from gradekit.errors import DeclarationError


def collect_items(assignment: Assignment) -> list[dict]:
    """Raises DeclarationError (the last lines of pytest's output) when the graders do not collect."""
    folder = assignment.grader_dir
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "items.json"
        done = subprocess.run([sys.executable, "-m", "pytest", str(folder), "--collect-only", "-q",
                               "-p", "gradekit.grading.plugin", "-p", "no:cacheprovider", f"--gk-items-out={out}",
                               f"--rootdir={folder}"], capture_output=True, text=True, cwd=folder)
        if done.returncode != 0 or not out.exists():
            tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-4:])
            raise DeclarationError(f"{folder.name}: the graders do not collect: {tail[:400]}")
        return json.loads(out.read_text())


def public_checks(assignment: Assignment, items: list[dict]) -> dict:
    """gradekit_checks.json of the release: each item's public checks and the file limit the graded run
    enforces (the full profile's, the larger where they differ)."""
    limit = max(limits.output_mb for limits in assignment.limits.values())
    return {"format": 1, "assignment": assignment.name, "file_limit_mb": limit, "items": items}
