"""`gradekit release`: nbgrader's generate_assignment turns source/<A> into release/<A>, then the kit's
provided helpers are added. The leak check proves no solution line survived."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat

from gradekit import provided
from gradekit.authoring.graders import collect_items, public_checks
from gradekit.course import Assignment
from gradekit.errors import DeclarationError, ReleaseFailed

_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def release(assignment: Assignment) -> Path:
    root = assignment.course.root
    cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", assignment.name, "--force", "--no-db",
           f"--CourseDirectory.root={root}"]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise ReleaseFailed(f"nbgrader generate_assignment failed for {assignment.name}:\n{done.stdout}{done.stderr}")
    try:
        checks = public_checks(assignment, collect_items(assignment))
    except DeclarationError as exc:
        raise ReleaseFailed(str(exc)) from None
    provided.write(assignment.release_dir, assignment.catalog().manifest(), checks)
    state_limits(assignment.release_dir / assignment.notebook_name, assignment)
    leaks = solution_leaks(assignment.source_notebook, assignment.release_dir / assignment.notebook_name)
    if leaks:
        raise ReleaseFailed(f"release of {assignment.name} still holds solution lines: {leaks[:5]}")
    return assignment.release_dir


LIMITS_TAG = "gradekit-limits"


def limits_text(assignment: Assignment) -> str:
    """What the runner enforces, per profile, in the student's words: generated from assignment.toml at
    each release, so the notebook never says other than what the grader does."""
    profiles = [p for p in ("smoke", "full") if p in assignment.limits]
    rows = [("time for one cell", lambda l: _duration(l.cell_timeout_s)),
            ("time for the whole notebook", lambda l: _duration(l.notebook_timeout_s)),
            ("memory (with /tmp and /dev/shm)", lambda l: f"{l.memory_mb:,} MB"),
            ("largest file you write (a submitted model too)", lambda l: f"{l.output_mb} MB"),
            ("printed output", lambda l: f"{l.output_mb} MB"),
            ("all files the notebook writes", lambda l: f"{l.disk_bytes >> 20:,} MB"),
            ("files it creates", lambda l: f"{l.files:,}"),
            ("/tmp (and /dev/shm)", lambda l: f"{l.tmp_mb} MB each"),
            ("processes and threads", lambda l: f"{l.processes}")]
    head = "| limit | " + " | ".join(profiles) + " |\n|---|" + "---|" * len(profiles) + "\n"
    body = "".join(f"| {name} | " + " | ".join(value(assignment.limits[p]) for p in profiles) + " |\n"
                   for name, value in rows)
    return ("### Limits when this notebook is graded\n\n"
            "The grader runs your notebook from top to bottom in a sandbox with no network, and enforces these "
            "limits (`full` is the graded run; `smoke` is the quick check on a CPU). A run past the notebook's time "
            "or an output, file or disk limit is stopped with a reason. Only what `submit.answer`, "
            "`submit.model`, `submit.state_dict` and `submit.arrays` hand in is graded; they refuse, before "
            "writing anything, a file larger than the largest file. Before you submit, run `submit.check()` (or "
            "`submit.check(\"q2\")` for one question): it says, item by item, whether the grader will find your "
            "answers, models and functions in the form it needs; it cannot say whether they are right.\n\n"
            + head + body + _tasks_text(assignment))


def _tasks_text(assignment: Assignment) -> str:
    plan = assignment.tasks()
    if not plan.declared_any:
        return ("\nA cell past its time limit, or a kernel that dies (memory, a crash), stops the run there: the "
                "cells after it are not run.\n")
    names = ", ".join(s.name for s in plan.starts)
    return ("\nThe notebook is graded in tasks: " + names + ". A cell past its time limit is interrupted, or a "
            "kernel that dies (memory, a crash) is restarted, and the rest of that task is skipped; the grader then "
            "goes on with the next task, so one failure costs only its own task. After a restart the parameters "
            "and setup cells are run again; anything else an earlier task defined is gone, so a task that needs it "
            "fails with its own reason.\n")


def _duration(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds >= 120 and seconds % 60 == 0 else f"{seconds} s"


def state_limits(notebook: Path, assignment: Assignment) -> None:
    """Put the limits cell after the notebook's first cell (its title), replacing an earlier one."""
    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [c for c in nb.cells if LIMITS_TAG not in c.metadata.get("tags", [])]
    cell = nbformat.v4.new_markdown_cell(limits_text(assignment), id=LIMITS_TAG)
    cell.metadata["tags"] = [LIMITS_TAG]
    nb.cells.insert(1 if nb.cells else 0, cell)
    nbformat.write(nb, notebook)


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
    written = [c for c in nb.cells if LIMITS_TAG not in c.metadata.get("tags", [])]   # the kit's own cell
    text = {line.strip() for cell in written for line in cell.source.splitlines()}
    return sorted(solution_lines(source) & text)
