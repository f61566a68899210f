"""EE046211 HW2 end to end: release -> run -> grade -> marks on the example submissions, and solve.

One batch (session scope) runs every example submission under the smoke profile on the real
FashionMNIST and the SVHN stand-in; the tests below check its outputs item by item."""
from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

import pytest

from conftest import REPO, gradekit, make_course

A = "ee046211_hw2"
FIXTURES = REPO / "tests" / "fixtures" / A
EXPECTED = {k: v for k, v in json.loads((FIXTURES / "expected_marks.json").read_text()).items() if not k.startswith("_")}
AUTO_MAX = 79

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def batch(tmp_path_factory, data_root):
    course = make_course(tmp_path_factory.mktemp("hw2") / "course")
    gradekit("release", A, cwd=course)
    submitted = course / "submitted"
    for student in (p for p in FIXTURES.iterdir() if p.is_dir()):
        shutil.copytree(student, submitted / student.name)
    # a student who hands the release back untouched
    shutil.copytree(course / "release" / A, submitted / "zara_untouched_release" / A)
    common = ["--profile", "smoke", "--data-root", str(data_root)]
    started = time.time()
    run = gradekit("run", A, "--jobs", "2", *common, cwd=course)
    run_seconds = time.time() - started
    gradekit("grade", A, "--jobs", "2", *common, cwd=course)
    gradekit("marks", A, cwd=course)
    return {"course": course, "run_output": run.stdout + run.stderr, "run_seconds": run_seconds, "common": common}


def grade_of(batch, student) -> dict:
    return json.loads((batch["course"] / "autograded" / student / A / "grade.json").read_text())


def run_of(batch, student) -> dict:
    return json.loads((batch["course"] / "autograded" / student / A / "run.json").read_text())


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_submission_gets_exactly_its_marks(batch, student):
    expected, grade, run = EXPECTED[student], grade_of(batch, student), run_of(batch, student)
    assert run["status"] == expected["status"], run["reason"]
    assert "reason_contains" not in expected or expected["reason_contains"] in run["reason"], run["reason"]
    assert "warning_contains" not in expected or any(expected["warning_contains"] in w for w in run["warnings"])
    items = {i["id"]: i for i in grade["items"]}
    assert grade["max"] == AUTO_MAX and len(items) == 16
    for item_id, item in items.items():
        if expected.get("all_zero") or ("only" in expected and item_id not in expected["only"]):
            want = 0
        else:
            want = expected.get("items", {}).get(item_id, item["max"])
        assert item["points"] == want, f"{student} {item_id}: {item['points']} != {want} ({item['reason']})"
        assert item["reason"], f"{student} {item_id} has no reason"
    assert grade["total"] == expected["total"]


def test_items_earning_nothing_say_why(batch):
    grade = grade_of(batch, "zara_untouched_release")
    for item in grade["items"]:  # an answer that never came, or a stub function that raised
        assert "NotImplementedError" in item["reason"], item
        assert "was not submitted" in item["reason"] or item["id"] in ("t1.xavier_init", "t1.kaiming_init"), item


def test_mark_sheet(batch):
    rows = list(csv.DictReader((batch["course"] / "marks" / f"{A}.csv").open()))
    by_student = {r["student"]: r for r in rows}
    assert set(by_student) == set(EXPECTED) | {"(max)"}
    assert by_student["(max)"]["max_total"] == "100" and by_student["(max)"]["auto_max"] == str(AUTO_MAX)
    manual = [c for c in rows[0] if c.endswith("(manual)")]
    assert manual == [f"{m} (manual)" for m in ("q1", "q3", "q4", "q5", "q6-table", "t1-explain", "task2-description", "task3-description")]
    for student, row in by_student.items():
        if student == "(max)":
            continue
        assert all(row[c] == "" for c in manual), "manual items are for a person to fill in"
        assert float(row["auto_total"]) == EXPECTED[student]["total"]
        assert "SMOKE MARKS on stand-in data (svhn)" in row["notes"]
    assert "no notebook" in by_student["frank_not_a_notebook"]["notes"]
    assert "cell 3 raised" in by_student["ivan_raises_in_cell3"]["notes"]
    assert (batch["course"] / "marks" / f"{A}_distribution.png").stat().st_size > 5000


def test_feedback_pages(batch):
    page = (batch["course"] / "feedback" / "bob_wrong_backprop" / f"{A}.html").read_text()
    assert "q2.gradients" in page and "every gradient is wrong" in page
    assert page.count("<img") >= 4, "the student's plots (samples, learning curves) belong in the feedback"
    # the hidden expected gradients and updated weights never reach a student
    for secret in ("0.0019839", "0.0765351", "0.1974574", "0.0998801", "132863336", "132,863,336", "93.06"):
        for student in EXPECTED:
            assert secret not in (batch["course"] / "feedback" / student / f"{A}.html").read_text(), (student, secret)


def test_rerun_skips_finished_submissions(batch):
    before = {s: run_of(batch, s)["duration_s"] for s in EXPECTED}
    started = time.time()
    gradekit("run", A, *batch["common"], cwd=batch["course"])
    assert time.time() - started < 60
    assert {s: run_of(batch, s)["duration_s"] for s in EXPECTED} == before


def test_progress_bar_names_the_students(batch):
    out = batch["run_output"]
    assert "run ee046211_hw2" in out and "submission" in out and "alice_correct: ok" in out


def test_solve_earns_every_auto_point(data_root, tmp_path):
    course = make_course(tmp_path / "course")
    done = gradekit("solve", A, "--profile", "smoke", "--data-root", str(data_root), cwd=course, check=False)
    result = json.loads(done.stdout)
    assert result["run"] == "ok" and result["total"] == result["max"] == AUTO_MAX, result
    assert (course / "solutions" / A / "artifacts" / "task2_mlp.pt2").exists()
