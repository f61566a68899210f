"""FIT3181 2023 A1 end to end on its example submissions (smoke profile: the EMNIST letters and STL10
stand-ins), and the solution through solve."""
from __future__ import annotations

import json

import pytest

from pipeline import batch_fixture, check_marks, check_spec_points, expected_marks, mark_sheet, outcome, solve

A = "fit3181_2023_a1"
EXPECTED = expected_marks(A)
AUTO_MAX = 60
N_ITEMS = 43
MANUAL = {"q1-1a-range-derivative": 1, "q1-1b-activations": 6, "q1-2-formulas": 1, "q1-3-formulas": 1,
          "q1-4a-pseudocode": 2, "q1-4b-opposite-gradient": 2, "q2-3-figure": 5, "q2-6-report": 3,
          "q3-1-observation": 4, "q3-2-design": 2, "q3-3-report": 3, "q3-4-report": 1, "q3-5-augmentation": 2,
          "q3-6-report": 3, "q3-7-report": 1, "q3-8-images": 1, "q3-9-discussion": 2}

pytestmark = pytest.mark.slow
batch = batch_fixture(A)


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_submission_gets_exactly_its_marks(batch, student):
    check_marks(batch, student, EXPECTED[student], AUTO_MAX, n_items=N_ITEMS)


def test_reasons_name_each_defect(batch):
    reasons = {s: {i["id"]: i["reason"] for i in outcome(batch, s)[1]["items"]} for s in EXPECTED}
    bob, carol = reasons["bob_smoothing_relu_stopping_mixup"], reasons["carol_ten_outputs_pgd_unprojected"]
    assert "label-smoothed loss" in bob["q1.2.g_label_smoothing"] and "1e-05" in bob["q1.2.g_label_smoothing"]
    assert "q1.3.dl_dhbar1 are wrong" in bob["q1.3.c_dl_dh1_dhbar1"]
    assert "random parameters" in bob["q1.3.d_backprop_hidden"]
    assert "3 consecutive epochs" in bob["q3.5.early_stopping"]
    assert "labels are not" in bob["q3.7.mixup"]
    assert "784 -> 20 -> 40 -> 26" in carol["q2.4.architecture"]
    assert "below 50.00%" in carol["q2.4.accuracy"]
    assert "leaves the ε-ball" in carol["q3.8.pgd"]
    assert "[stand-in stl10: smoke mark]" in carol["q3.4.best"]


def test_mark_sheet_has_the_spec_points(batch):
    rows = mark_sheet(batch)
    check_spec_points(rows, AUTO_MAX, MANUAL)
    assert rows["(max)"]["q3-10-sam (manual, bonus)"] == "5"      # the bonus is on top of the 100
    assert "SMOKE MARKS on stand-in data" in rows["bob_smoothing_relu_stopping_mixup"]["notes"]


def test_solve_earns_every_auto_point(data_root, tmp_path):
    result, course = solve(A, data_root, tmp_path)
    assert result["run"] == "ok" and result["total"] == result["max"] == AUTO_MAX, result
    items = {i["id"]: i for i in json.loads((course / "solutions" / A / "grade.json").read_text())["items"]}
    # the solution clears the thresholds with margin on the stand-ins, not by a hair
    assert float(items["q2.4.accuracy"]["reason"].split("(recomputed) ")[1].split("%")[0]) >= 78
    assert float(items["q3.4.best"]["reason"].split("q3_best ")[1].split("%")[0]) >= 38
