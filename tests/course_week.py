"""Builders for the course-week tests: the tiny course with a manual item and a due date, student notebooks
as the release hands them out, and Moodle and Canvas "download all submissions" zips in their shapes."""
from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import nbformat

from conftest import REPO, TINY

WEEK = REPO / "tests" / "fixtures" / "course_week"
DUE = 'due = "2026-03-02T23:59:00+11:00"\n'
LATE = "\n[late]\ngrace_minutes = 15\npercent_per_day = 10\nmax_late_days = 7\n"
EXPLAIN = {"grade": True, "solution": True, "grade_id": "tiny-explain", "points": 1, "locked": False,
           "schema_version": 3, "task": False}


def week_course(dest: Path, due: bool = True) -> Path:
    """The tiny course plus a 1-point manual Markdown answer (so 5 points in all) and, with `due`, the late
    policy: 15 minutes' grace, 10 % of the maximum per started day, nothing after 7 days."""
    for part in ("source", "grader_tests", "datasets"):
        shutil.copytree(TINY / part, dest / part)
    shutil.copyfile(REPO / "nbgrader_config.py", dest / "nbgrader_config.py")
    source = dest / "source" / "tiny" / "tiny.ipynb"
    nb = nbformat.read(source, as_version=4)
    cell = nbformat.v4.new_markdown_cell("Why is `double` linear? YOUR ANSWER HERE")
    cell.metadata["nbgrader"] = dict(EXPLAIN)
    nb.cells.append(cell)
    nbformat.write(nb, source)
    if due:
        toml = dest / "source" / "tiny" / "assignment.toml"
        toml.write_text(DUE + toml.read_text() + LATE)
    shutil.copyfile(WEEK / "roster.csv", dest / "roster.csv")
    return dest


def notebook(double: str = "x * 2", explain: str = "Because $2(x+y) = 2x + 2y$.") -> bytes:
    cells = [nbformat.v4.new_code_cell('DATA_ROOT = "./data"\nOUTPUT_DIR = "./outputs"\nDEVICE = "cpu"\nPROFILE = "smoke"\nSEED = 0'),
             nbformat.v4.new_code_cell("import numpy as np\nfrom gradekit_submit import Submission\nsubmit = Submission(OUTPUT_DIR)"),
             nbformat.v4.new_code_cell(f"def double(x):\n    return {double}"),
             nbformat.v4.new_code_cell("values = np.load(DATA_ROOT + '/tiny/values.npy')\nsubmit.answer('tiny.answer', int(values.sum()))"),
             nbformat.v4.new_markdown_cell(explain)]
    cells[0].metadata["tags"] = ["parameters"]
    cells[-1].metadata["nbgrader"] = dict(EXPLAIN)
    nb = nbformat.v4.new_notebook(cells=cells)
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i}"
    return nbformat.writes(nb).encode()


def write_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def inner_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def moodle_zip(path: Path) -> Path:
    """Moodle 4.1 folders (Ada, Alan), 3.x folders with a trailing underscore (Émile, two notebooks),
    a flat file from before 3.1 (Grace, whose apostrophe Moodle drops), online text, a group's hand-in,
    and an entry that climbs out with `..`."""
    return write_zip(path, {
        "Ada Lovelace_4301_assignsubmission_file/tiny.ipynb": notebook(),
        "Ada Lovelace_4301_assignsubmission_onlinetext_onlinetext.html": b"<p>see my notebook</p>",
        "Émile Durand_4302_assignsubmission_file_/final.ipynb": notebook(),
        "Émile Durand_4302_assignsubmission_file_/scratch.ipynb": notebook(double="x"),
        "Grace OHara_4303_assignsubmission_file_tiny.ipynb": notebook(explain="It scales."),
        "Alan Turing_4304_assignsubmission_file/tiny.ipynb": notebook(double="x * 3"),
        "Alan Turing_4304_assignsubmission_file/../../../../evil.ipynb": b"{}",
        "Group_17_assignsubmission_file/tiny.ipynb": notebook(),
    })


def canvas_zip(path: Path) -> Path:
    """Canvas's flat names: Ada hands in the zip her course asked for, Alan is _LATE, Grace re-uploaded
    (`tiny-1.ipynb`), Émile typed a text entry, and one anonymous hand-in."""
    return write_zip(path, {
        "lovelaceada_101_9001_s001_A1_solution.zip": inner_zip({"s001_A1_solution/tiny.ipynb": notebook(),
                                                                "s001_A1_solution/notes.txt": b"extra"}),
        "turingalan_LATE_104_9002_tiny.ipynb": notebook(double="x * 3"),
        "oharagrace_103_9004_tiny-1.ipynb": notebook(explain="It scales."),
        "durandemile_102_text.html": b"<p>I could not upload</p>",
        "LATE_anon_x7Kq2_9003_tiny.ipynb": notebook(),
    })


def record(course: Path, student: str) -> dict:
    return json.loads((course / "submitted" / student / "tiny.source.json").read_text())
