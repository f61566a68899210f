"""Limits are stated before students submit and checked where they write: the release carries the table
the runner enforces, and the submit helper refuses an over-limit file before writing any of it."""
from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from conftest import REPO
from gradekit.course import Course
from gradekit.authoring.release import LIMITS_TAG


def check_release_states_limits(course, assignment: str) -> None:
    """Called by the release test on the notebook it released (one release for both)."""
    from gradekit.authoring.release import state_limits

    path = course / "release" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    stated = [c for c in nb.cells if LIMITS_TAG in c.metadata.get("tags", [])]
    assert len(stated) == 1 and nb.cells[1] is stated[0]
    limits = Course(course).assignment(assignment).limits
    text = stated[0].source
    assert (f"| largest file you write (a submitted model too) | {limits['smoke'].output_mb} MB | "
            f"{limits['full'].output_mb} MB |") in text
    assert f"| memory (with /tmp and /dev/shm) | {limits['smoke'].memory_mb:,} MB |" in text
    tasks = Course(course).assignment(assignment).tasks()
    if tasks.declared_any:   # how a failure is confined, with the tasks' names as assignment.toml declares them
        assert "graded in tasks: " + ", ".join(s.name for s in tasks.starts) + "." in text
        assert "one failure costs only its own task" in text
    state_limits(path, Course(course).assignment(assignment))   # a second release replaces the table
    nb = nbformat.read(path, as_version=4)
    assert sum(LIMITS_TAG in c.metadata.get("tags", []) for c in nb.cells) == 1


OVER_LIMIT = r'''
import os, sys
sys.path.insert(0, {provided!r})
import torch
from gradekit_submit import Submission
submit = Submission({out!r})
big = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 4096), torch.nn.Linear(4096, 1024))
try:
    submit.model("task2_mlp", big, torch.rand(2, 1, 28, 28))
except ValueError as exc:
    print("REFUSED", exc)
print("LEFT", sorted(os.listdir({out!r})))
submit.model("small", torch.nn.Linear(4, 3), torch.rand(2, 4))
print("ALIVE", sorted(os.listdir({out!r})))
'''


@pytest.mark.slow   # 4 s: torch's import and an export (the fast lane keeps under two minutes)
def test_an_over_limit_model_is_refused_before_it_is_written(tmp_path):
    """Under the runner's file-size limit (RLIMIT_FSIZE = output_mb), the helper names the sizes and
    writes nothing; the process lives on and submits the next model."""
    code = OVER_LIMIT.format(provided=str(REPO / "gradekit" / "provided"), out=str(tmp_path / "out"))
    done = subprocess.run(["prlimit", f"--fsize={10 << 20}", "--", sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "REFUSED task2_mlp is 28.3 MB; the grader accepts files up to 10 MB (`output_mb`)" in done.stdout
    assert "LEFT []" in done.stdout and "ALIVE ['small.pt2']" in done.stdout


def test_grading_takes_each_runs_profile_and_refuses_another(tmp_path):
    """`grade` grades a run with the profile it was made with (run.json); `grade --profile X` on a run of
    profile Y refuses before anything is graded, in one line."""
    from gradekit.course import Folders
    from gradekit.errors import ProfileMismatch
    from gradekit.grading.stage import graded_profiles
    from gradekit.records import RunRecord

    for student, profile in (("ada", "full"), ("bob", "full"), ("cy", "smoke")):
        (tmp_path / student / "A").mkdir(parents=True)
        RunRecord(student, "A", status="ok", profile=profile).save(tmp_path / student / "A")
    assert graded_profiles(Folders(tmp_path, tmp_path, "A"), ["ada", "bob", "cy", "never_run"], None) == {
        "ada": "full", "bob": "full", "cy": "smoke", "never_run": "smoke"}
    assert graded_profiles(Folders(tmp_path, tmp_path, "A"), ["ada", "bob"], "full") == {"ada": "full", "bob": "full"}
    with pytest.raises(ProfileMismatch, match="--profile smoke: ada, bob were run with profile full; grade without --profile"):
        graded_profiles(Folders(tmp_path, tmp_path, "A"), ["ada", "bob", "cy"], "smoke")
