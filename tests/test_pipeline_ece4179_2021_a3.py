"""ECE4179 2021 A3 end to end on its example submissions (smoke profile: the STL10 stand-in, rendered
silhouettes in STL10's binary files, split 800/200/300 by the course rule), and the solution through solve."""
from __future__ import annotations


import pytest

from pipeline import (batch_fixture, check_marks, check_spec_points, expected_marks, grade_with_one_grader_file,
                      mark_sheet, outcome, solve)

A = "ece4179_2021_a3"
EXPECTED = expected_marks(A)
AUTO_MAX = 64
MANUAL = {"q1-1-discussion": 5, "q1-2-discussion": 2, "q1-3-discussion": 2, "q1-4-discussion": 4,
          "q2-1-discussion": 5, "q2-2-discussion": 5, "q2-3-discussion": 6, "q3-discussion": 7}

pytestmark = pytest.mark.slow
batch = batch_fixture(A)


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_submission_gets_exactly_its_marks(batch, student):
    check_marks(batch, student, EXPECTED[student], AUTO_MAX, n_items=16)


def test_reasons_name_each_defect(batch):
    reasons = {s: {i["id"]: i["reason"] for i in outcome(batch, s)[1]["items"]} for s in EXPECTED}
    bob, carol = reasons["bob_maxpool_stride1_top_wrong"], reasons["carol_literal_table3_confusion_occlusion"]
    assert "(128, 8192)" in bob["q1.1.architecture"]
    assert "per true class, the misclassified images with the highest score of the predicted class" in bob["q1.3.top_wrong"]
    assert "(10, 128)" in carol["q2.1.architecture"]
    assert "true class in columns" in carol["q1.4.confusion_matrix"]   # half, as a fair TA would
    assert "true class in columns" in carol["q1.4.test_matrix"]
    assert "the score of the target class" in carol["q3.occlusion"]
    assert "[stand-in stl10: smoke mark]" in bob["q1.1.accuracy"]


def test_mark_sheet_has_the_spec_points(batch):
    rows = mark_sheet(batch)
    check_spec_points(rows, AUTO_MAX, MANUAL)
    assert "SMOKE MARKS on stand-in data (stl10)" in rows["bob_maxpool_stride1_top_wrong"]["notes"]


def test_solve_earns_every_auto_point(data_root, tmp_path):
    result, course = solve(A, data_root, tmp_path)
    assert result["run"] == "ok" and result["total"] == result["max"] == AUTO_MAX, result
    grade = {i["id"]: i for i in json_items(course)}
    # the solution clears the stand-in's full tier with margin, not by a hair
    assert float(grade["q1.1.accuracy"]["reason"].split("(recomputed) ")[1].split("%")[0]) >= 45


def json_items(course):
    import json

    return json.loads((course / "solutions" / A / "grade.json").read_text())["items"]


TRANSPOSED_CONFUSION = """import numpy as np
def confusion_matrix(y_true, y_pred, num_classes):
    out = np.zeros((num_classes, num_classes), dtype=np.int64)
    for t, p in zip(np.asarray(y_true), np.asarray(y_pred)):
        out[p, t] += 1   # the true class in columns
    return out
"""


def test_a_transposed_confusion_matrix_earns_the_declared_share(tmp_path, data_root):
    items = grade_with_one_grader_file(A, "test_q1_shallow_cnn.py", TRANSPOSED_CONFUSION, tmp_path, data_root,
                                       "confusion_matrix_function")
    item = items["q1.4.confusion_matrix"]
    assert item["points"] == 1.5 and "true class in columns" in item["reason"], item
