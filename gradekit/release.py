"""`gradekit release`: nbgrader's generate_assignment turns source/<A> into release/<A>, then the kit's
provided helpers are added. The leak check proves no solution line survived."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat

from gradekit import provided
from gradekit.course import Assignment

_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def release(assignment: Assignment) -> Path:
    root = assignment.course.root
    cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", assignment.name, "--force", "--no-db",
           f"--CourseDirectory.root={root}"]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"nbgrader generate_assignment failed for {assignment.name}:\n{done.stdout}{done.stderr}")
    provided.write(assignment.release_dir, assignment.catalog().manifest())
    leaks = solution_leaks(assignment.source_notebook, assignment.release_dir / assignment.notebook_name)
    if leaks:
        raise SystemExit(f"release of {assignment.name} still holds solution lines: {leaks[:5]}")
    return assignment.release_dir


def solution_lines(source: Path) -> set[str]:
    """Meaningful lines between ### BEGIN SOLUTION and ### END SOLUTION that appear nowhere else in the
    source (a line the given code also has is public, not a leak)."""
    nb = nbformat.read(source, as_version=4)
    hidden, public = set(), set()
    for cell in nb.cells:
        for region in _REGION.findall(cell.source):
            hidden |= {line.strip() for line in region.splitlines()}
        public |= {line.strip() for line in _REGION.sub("", cell.source).splitlines()}
    # short lines ("return x") and comments are not evidence of a leak
    return {line for line in hidden - public if len(line) >= 8 and not line.startswith("#")}


def solution_leaks(source: Path, released: Path) -> list[str]:
    nb = nbformat.read(released, as_version=4)
    text = {line.strip() for cell in nb.cells for line in cell.source.splitlines()}
    return sorted(solution_lines(source) & text)
