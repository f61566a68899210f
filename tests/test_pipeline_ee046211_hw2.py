"""EE046211 HW2 end to end: release -> run -> grade -> marks on the example submissions, and solve.

One batch (session scope) runs every example submission under the smoke profile on the real
FashionMNIST and the SVHN stand-in; the tests below check its outputs item by item."""
from __future__ import annotations

import csv
import shutil
import time

import pytest

from conftest import REPO, gradekit, make_course
from pipeline import batch_fixture, check_marks, expected_marks, grade_with_one_grader_file, outcome, solve

A = "ee046211_hw2"
EXPECTED = expected_marks(A)
AUTO_MAX = 79

pytestmark = pytest.mark.slow


batch = batch_fixture(A)


def grade_of(batch, student) -> dict:
    return outcome(batch, student)[1]


def run_of(batch, student) -> dict:
    return outcome(batch, student)[0]


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_submission_gets_exactly_its_marks(batch, student):
    check_marks(batch, student, EXPECTED[student], AUTO_MAX, n_items=16)


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
    assert "code cell 2 [ee046211_hw2-setup] raised" in by_student["ivan_raises_in_cell3"]["notes"]
    assert (batch["course"] / "marks" / f"{A}_distribution.png").stat().st_size > 5000


def test_feedback_pages(batch):
    page = (batch["course"] / "feedback" / "bob_backprop_count_xavier" / f"{A}.html").read_text()
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
    assert "run ee046211_hw2" in out and "submission" in out and "bob_backprop_count_xavier: ok" in out


def test_failures_cost_only_their_own_task(batch):
    """Task 2's over-cap model is refused where it is written and Task 3 is graded; Task 3's training fails
    after the count was printed: the count keeps its points, the model's items cite Task 3's own error."""
    kate_run, kate = outcome(batch, "kate_16m_mlp")
    tasks = {t["name"]: t for t in kate_run["tasks"]}
    assert tasks["Task 2 – FashionMNIST MLP"]["status"] == "error" and tasks["Task 3 – SVHN CNN"]["status"] == "ok"
    assert "task2_mlp is 6" in tasks["Task 2 – FashionMNIST MLP"]["reason"], "the size, in MB, of the refused export"
    left = {p.name for p in (batch["course"] / "autograded" / "kate_16m_mlp" / A / "artifacts").iterdir()}
    assert not {n for n in left if n == "task2_mlp.pt2" or n.startswith(".task2_mlp")}, "no half-written export"
    items = {i["id"]: i for i in kate["items"]}
    assert "(Task 2 – FashionMNIST MLP: error: code cell 12 [ee046211_hw2-t2-mlp] raised ValueError: task2_mlp is" \
        in items["task2.accuracy"]["reason"]
    leo = {i["id"]: i for i in outcome(batch, "leo_count_without_model")[1]["items"]}
    assert leo["task3.param_count"]["points"] == 3 and "graded from the printed count alone" in leo["task3.param_count"]["reason"]
    assert "Task 3 – SVHN CNN: error: code cell 16 [ee046211_hw2-t3-train] raised TypeError" in leo["task3.accuracy"]["reason"]
    assert "NotImplementedError" not in leo["task3.accuracy"]["reason"], "never another task's error"


def test_a_cell_past_its_limit_costs_only_its_task(tmp_path, data_root):
    """Task 2's training never ends: interrupted at the cell limit (90 s here, so that CI need not wait the
    smoke profile's 600 s), the rest of Task 2 skipped, Task 3 run and marked."""
    course = make_course(tmp_path / "course")
    toml = course / "source" / A / "assignment.toml"
    toml.write_text(toml.read_text().replace("[limits.smoke]\ncell_timeout_s = 600", "[limits.smoke]\ncell_timeout_s = 90"))
    student = "judy_task2_timeout"
    shutil.copytree(REPO / "tests" / "fixtures" / A / student, course / "submitted" / student)
    common = ["--profile", "smoke", "--data-root", str(data_root)]
    gradekit("run", A, "--jobs", "1", *common, cwd=course)
    gradekit("grade", A, "--jobs", "1", *common, cwd=course)
    lone = {"course": course, "assignment": A}
    check_marks(lone, student, expected_marks(A, alone=True)[student], AUTO_MAX, n_items=16)
    run = outcome(lone, student)[0]
    tasks = {t["name"]: t["status"] for t in run["tasks"]}
    assert tasks == {"Preamble": "ok", "Part 1 – theory": "ok", "Task 1 – activations and initialisation": "ok",
                     "Task 2 – FashionMNIST MLP": "timeout", "Task 3 – SVHN CNN": "ok"}
    skipped = [c["label"] for c in run["cells"] if c["status"] == "skipped"]
    assert skipped == ["code cell 13 [ee046211_hw2-t2-reinit]"]


def test_solve_earns_every_auto_point(data_root, tmp_path):
    result, course = solve(A, data_root, tmp_path)
    assert result["run"] == "ok" and result["total"] == result["max"] == AUTO_MAX, result
    assert (course / "solutions" / A / "artifacts" / "task2_mlp.pt2").exists()


TRANSPOSED_INIT = """import math
import torch
def xavier_init(fan_in, fan_out):
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return torch.empty(fan_in, fan_out).uniform_(-bound, bound)
def kaiming_init(fan_in, fan_out):
    return torch.randn(fan_out, fan_in) * math.sqrt(2.0 / fan_in)
"""


def test_a_transposed_init_earns_the_declared_share(tmp_path, data_root):
    """Xavier drawn right in (fan_in, fan_out): half its points, with the reason; Kaiming in the stated
    shape: all of them. The graders' own file, on a notebook holding only these definitions."""
    items = grade_with_one_grader_file(A, "test_task1_init.py", TRANSPOSED_INIT, tmp_path, data_root, "xavier or kaiming")
    assert items["t1.xavier_init"]["points"] == 2, items
    assert "in shape (fan_in, fan_out)" in items["t1.xavier_init"]["reason"]
    assert items["t1.kaiming_init"]["points"] == 4, items
