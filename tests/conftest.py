"""Shared set-up: the data root (real sets from the local mirror, course files rebuilt, stand-ins for the rest),
and a throw-away course built from this repository's assignments."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("GRADEKIT_DATA_MIRROR", REPO.parent / "shared" / "data"))
TINY = REPO / "tests" / "fixtures" / "tiny_course"
TINY_STUDENTS = sorted(p.name for p in (TINY / "submitted").iterdir())


def gradekit(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "gradekit.cli", *args], cwd=cwd, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"gradekit {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The repository's data root, prepared once: fetch is a no-op when the verified files are there."""
    root = Path(os.environ.get("DATA_ROOT", REPO / "data")).resolve()
    if not MIRROR.is_dir():
        pytest.fail(f"no data mirror at {MIRROR}: set GRADEKIT_DATA_MIRROR, or fetch the data with internet")
    from gradekit.course import Course
    from gradekit.data import store

    if any(store.provenance(d, root).startswith("missing") for d in Course(REPO).catalog()):
        gradekit("data", "fetch", "mnist", "fashionmnist", "faces", "photos", "olivetti", "ece4179_hw2_q2q3",
                 "ece4179_hw2_q4", "--from", str(MIRROR), "--data-root", str(root), cwd=REPO)  # the last two rebuilt
        gradekit("data", "synth", "svhn", "stl10", "emnist", "resnet18", "--data-root", str(root), cwd=REPO)
    return root


def make_course(dest: Path) -> Path:
    for part in ("source", "grader_tests", "datasets"):
        shutil.copytree(REPO / part, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(REPO / "nbgrader_config.py", dest / "nbgrader_config.py")
    return dest


@pytest.fixture
def course(tmp_path) -> Path:
    return make_course(tmp_path / "course")


def tiny_course(dest: Path, students: list[str] | None = None) -> tuple[Path, Path]:
    for part in ("source", "grader_tests", "datasets"):
        shutil.copytree(TINY / part, dest / part)
    shutil.copyfile(REPO / "nbgrader_config.py", dest / "nbgrader_config.py")
    for student in TINY_STUDENTS if students is None else students:
        shutil.copytree(TINY / "submitted" / student, dest / "submitted" / student)
    data = dest.parent / f"{dest.name}-data"
    gradekit("data", "fetch", "tally", "--data-root", str(data), cwd=dest)  # built by the course's own recipe
    assert np.load(data / "tiny" / "values.npy").tolist() == [20, 22]
    return dest, data
