"""The fast lane's end to end: the tiny assignment (a dataset the engine has never named, declared by the
course and built by its recipe) through run -> grade -> marks, and a grader that crashes: its item needs
attention, never costs the student, and a re-grade of one student clears it."""
from __future__ import annotations

import csv
import json

import pytest

from conftest import gradekit, tiny_course

# (a dead kernel: tests/test_cluster.py and tests/test_tasks.py in this lane, the hostile batch in the slow one)
STUDENTS = ["h00_honest", "h01_raises"]
CRASHING_GRADER = '''
import pytest

@pytest.mark.item("tiny.extra", points=1)
def test_extra(submission):
    return {}["a grader bug"]
'''


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    course, data = tiny_course(tmp_path_factory.mktemp("tiny") / "course", STUDENTS)
    run = gradekit("run", "tiny", "--jobs", "2", "--data-root", str(data), cwd=course)
    (course / "grader_tests" / "tiny" / "test_extra.py").write_text(CRASHING_GRADER)
    grade = gradekit("grade", "tiny", "--jobs", "2", "--data-root", str(data), cwd=course)
    marks = gradekit("marks", "tiny", cwd=course, check=False)
    return course, data, marks, run.stdout + run.stderr, grade.stdout + grade.stderr


def test_progress_names_the_assignment_and_each_student(tiny):
    run, grade = tiny[3], tiny[4]
    assert "run tiny" in run and "h00_honest: ok" in run and "h01_raises: error" in run
    assert "grade tiny" in grade and "h00_honest: " in grade and "NEEDS ATTENTION" in grade


def rows(course):
    return {r["student"]: r for r in csv.DictReader((course / "marks" / "tiny.csv").open())}


def test_outcomes_and_marks(tiny):
    course = tiny[0]
    sheet = rows(course)
    assert [(sheet[s]["run_status"], sheet[s]["tiny.answer"], sheet[s]["tiny.double"]) for s in STUDENTS] == [
        ("ok", "2", "2"), ("error", "0", "2")]
    assert "cell 4 raised RuntimeError: oops" in sheet["h01_raises"]["notes"]
    for written in (course / "marks" / "tiny.csv", course / "feedback" / "h00_honest" / "tiny.html"):
        assert written.stat().st_mode & 0o777 == 0o644, "the course's staff group can read what the kit writes"
    run = json.loads((course / "autograded" / "h00_honest" / "tiny" / "run.json").read_text())
    assert run["format"] == 2 and run["data"] == {"tally": "rebuilt"}
    assert 0 < run["cost"]["cells_s"] < run["cost"]["wall_s"], "the student's own cells, apart from start-up"


def test_a_grader_crash_needs_attention_and_is_not_the_students_zero(tiny):
    course, _, marks = tiny[:3]
    assert marks.returncode == 1, "marks exits non-zero while an item needs attention"
    assert marks.stdout.startswith("NEEDS ATTENTION: 2 students"), marks.stdout
    assert "KeyError" in marks.stdout
    sheet = rows(course)
    for student in STUDENTS:
        assert sheet[student]["tiny.extra"] == "", "no mark yet, not a zero"
        assert "NEEDS ATTENTION: tiny.extra: KeyError" in sheet[student]["notes"]
    grade = json.loads((course / "autograded" / "h00_honest" / "tiny" / "grade.json").read_text())
    extra = next(i for i in grade["items"] if i["id"] == "tiny.extra")
    assert extra["status"] == "needs attention" and "a grader bug" not in extra["reason"]
    page = (course / "feedback" / "h00_honest" / "tiny.html").read_text()
    assert "a member of staff will look at it" in page and "KeyError" not in page


@pytest.mark.slow   # 10 s: a grader fixed and one student re-graded
def test_regrading_one_student_after_the_fix(tiny):
    course, data, _ = tiny[:3]
    (course / "grader_tests" / "tiny" / "test_extra.py").write_text(CRASHING_GRADER.replace('return {}["a grader bug"]', "pass"))
    before = json.loads((course / "autograded" / "h01_raises" / "tiny" / "grade.json").read_text())
    gradekit("grade", "tiny", "--student", "h00_honest", "--data-root", str(data), cwd=course)
    after = json.loads((course / "autograded" / "h01_raises" / "tiny" / "grade.json").read_text())
    assert before == after, "only the named student was re-graded"
    sheet_run = gradekit("marks", "tiny", cwd=course, check=False)
    assert sheet_run.stdout.startswith("NEEDS ATTENTION: 1 student")
    assert rows(course)["h00_honest"]["tiny.extra"] == "1" and rows(course)["h00_honest"]["auto_total"] == "5"


@pytest.mark.slow   # 4 s: a notebook run (the fast lane stays under two minutes)
def test_a_missing_dataset_on_the_graders_side_needs_attention(tmp_path):
    """Data that vanishes between run and grade (a machine fault) is not charged to the student: the
    preflight refuses the grading, and a grader that finds data missing anyway flags the item."""
    course, data = tiny_course(tmp_path / "course", ["h00_honest"])
    gradekit("run", "tiny", "--data-root", str(data), cwd=course)
    (data / "tiny" / "values.npy").unlink()
    refused = gradekit("grade", "tiny", "--data-root", str(data), cwd=course, check=False)
    assert refused.returncode == 2 and "dataset 'tally'" in refused.stderr and "missing: tiny/values.npy" in refused.stderr


@pytest.mark.slow   # a run and two gradings: seconds the fast lane does not have
def test_a_full_profile_run_is_graded_as_full(tmp_path):
    course, data = tiny_course(tmp_path / "course", ["h00_honest"])
    gradekit("run", "tiny", "--profile", "full", "--data-root", str(data), cwd=course)
    gradekit("grade", "tiny", "--data-root", str(data), cwd=course)
    grade = json.loads((course / "autograded" / "h00_honest" / "tiny" / "grade.json").read_text())
    assert grade["profile"] == "full" and grade["total"] == 4
    refused = gradekit("grade", "tiny", "--profile", "smoke", "--data-root", str(data), cwd=course, check=False)
    assert refused.returncode == 2 and "h00_honest was run with profile full" in refused.stderr, refused.stderr


def test_try_runs_one_notebook_as_the_batch_would_and_writes_nothing_into_the_course(tiny, tmp_path):
    """`gradekit try`: the same run and graders (the crashing one included), the sheet's words printed, the
    course's folders untouched; --keep leaves the run where it was asked to."""
    course, data = tiny[0], tiny[1]
    (course / "grader_tests" / "tiny" / "test_extra.py").write_text(CRASHING_GRADER)   # as the batch had it
    before = sorted(str(p) for p in course.rglob("*"))
    notebook = course / "submitted" / "h01_raises" / "tiny" / "tiny.ipynb"
    done = gradekit("try", "tiny", str(notebook), "--data-root", str(data), "--keep", str(tmp_path / "kept"),
                    cwd=course, check=False)
    assert done.returncode == 1, "the crashing grader needs attention: not a mark to trust"
    out = done.stdout
    assert out.startswith("try: run error: code cell 4 raised RuntimeError: oops"), out
    assert "2 / 2    correct" in out and "tiny.extra" in out and "auto-graded 2 / " in out
    assert sorted(str(p) for p in course.rglob("*")) == before, "nothing written into the course"
    kept = tmp_path / "kept" / "autograded" / "try" / "tiny"
    assert (kept / "run.json").exists() and (kept / "grade.json").exists()
    missing = gradekit("try", "tiny", str(tmp_path / "nope.ipynb"), "--data-root", str(data), cwd=course, check=False)
    assert missing.returncode == 2 and "nope.ipynb: not a notebook file" in missing.stderr
