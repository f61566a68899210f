"""A new assignment from the docs alone: `gradekit new` scaffolds one that releases, solves with every auto
point, and grades a blank release with zero; `gradekit check` names each authoring mistake with its file
and cell, and `release` / `solve` refuse with those messages instead of nbgrader's tracebacks."""
from __future__ import annotations

import csv
import json
import shutil

import nbformat
import pytest

from conftest import gradekit


@pytest.mark.slow   # 51 s: a solve and a batch of the new assignment (the fast lane keeps its check and units)
def test_a_new_assignment_releases_solves_and_grades_as_it_is(tmp_path):
    course, data = tmp_path / "course", tmp_path / "data"
    course.mkdir()
    data.mkdir()
    made = gradekit("new", "probe", cwd=course).stdout
    assert "wrote source/probe/probe.ipynb" in made and "wrote grader_tests/probe/test_example.py" in made
    assert "points: 7 auto (graders) + 3 manual (notebook) = 10" in gradekit("check", "probe", cwd=course).stdout
    gradekit("release", "probe", cwd=course)
    solved = json.loads(gradekit("solve", "probe", "--data-root", str(data), cwd=course).stdout)
    assert solved["run"] == "ok" and solved["total"] == solved["max"] == 7 and not solved["needs_attention"], solved
    shutil.copytree(course / "release" / "probe", course / "submitted" / "blank" / "probe")
    gradekit("run", "probe", "--data-root", str(data), cwd=course)
    gradekit("grade", "probe", "--data-root", str(data), cwd=course)
    marks = gradekit("marks", "probe", cwd=course)           # exit 0: nothing needs attention
    rows = {r["student"]: r for r in csv.DictReader((course / "marks" / "probe.csv").open())}
    assert rows["blank"]["auto_total"] == "0" and rows["(max)"]["manual_max"] == "3", marks.stdout
    # both manual answers reach the sheet, the Markdown one and the code cell the staff read
    assert rows["(max)"]["q3-explain (manual)"] == "2" and rows["(max)"]["q3-plot (manual)"] == "1"


@pytest.mark.slow   # 9 s; the new-assignment end to end stays in the fast lane
def test_check_names_each_authoring_mistake_and_release_refuses(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    gradekit("new", "probe", cwd=course)
    path = course / "source" / "probe" / "probe.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[9].metadata.nbgrader.grade_id = "q3.explain"                      # a dotted id nbgrader rejects
    nb.cells[10].metadata.nbgrader.grade_id = "probe-q1-code"                  # the id of another cell
    nbformat.write(nb, path)
    toml = course / "source" / "probe" / "assignment.toml"
    toml.write_text(toml.read_text().replace("\n[limits.smoke]\n", "\n[limits.smoke]\ntimeout_s = 60\n"))
    graders = course / "grader_tests" / "probe" / "test_example.py"
    graders.write_text(graders.read_text() + '''

@pytest.mark.item("q4.extra", points=1)
def test_extra(submission, datasets):
    datasets.load("mnist", train=False)
    require(submission.number("q4.answer") > 0, "q4")
''')
    done = gradekit("check", "probe", cwd=course, check=False)
    out = done.stdout
    assert done.returncode == 2, out
    assert "probe.ipynb, cell 10: grade_id 'q3.explain' has characters nbgrader rejects" in out
    assert "probe.ipynb, cell 11: grade_id 'probe-q1-code' is also cell 5's" in out
    assert "[limits.smoke]: unknown key 'timeout_s' (valid: cell_timeout_s, notebook_timeout_s" in out
    assert "test_example.py: uses dataset 'mnist', which assignment.toml's `datasets` does not list" in out
    assert "test_example.py: reads answer 'q4.answer' (number), which probe.ipynb never submits" in out
    assert "points: 8 auto (graders) + 3 manual (notebook) = 11" in out
    refused = gradekit("release", "probe", cwd=course, check=False)
    assert refused.returncode == 2 and "grade_id 'q3.explain'" in refused.stderr
    assert "Traceback" not in refused.stderr and "jsonschema" not in refused.stderr


def test_a_new_course_gets_the_kits_nbgrader_configuration():
    from conftest import REPO

    assert (REPO / "gradekit" / "authoring" / "scaffold" / "nbgrader_config.py").read_text() == (REPO / "nbgrader_config.py").read_text()
