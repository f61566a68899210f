"""ECE4179 2022 A2 end to end on its example submissions (smoke profile: real MNIST, faces and photos;
SVHN and ResNet18 weights are stand-ins), and the solution through solve."""
from __future__ import annotations

import csv

import pytest

from pipeline import batch_fixture, check_marks, expected_marks, outcome, solve

A = "ece4179_2022_a2"
EXPECTED = expected_marks(A)
AUTO_MAX = 65
MANUAL = ["q1-3-why", "q1-4-working", "q1-5-working", "q2-discussion", "q3-discussion", "q4-discussion",
          "q5-discussion", "q6-discussion"]

pytestmark = pytest.mark.slow


batch = batch_fixture(A)


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_submission_gets_exactly_its_marks(batch, student):
    check_marks(batch, student, EXPECTED[student], AUTO_MAX, n_items=19)


def test_reasons_name_each_defect(batch):
    reasons = {s: {i["id"]: i["reason"] for i in outcome(batch, s)[1]["items"]} for s in EXPECTED}
    bob, dave = reasons["bob_w25_gradient_avgpool3"], reasons["dave_identity_dae_unfrozen_backbone"]
    assert "which gradient reaches w2,5" in bob["q1.5.w25"]
    assert "fc1 must take 1152" in bob["q4.cnn_architecture"]
    assert "below 1.33" in dave["q3.denoising"]
    assert "backbone tensors differ from the pretrained weights" in dave["q6.frozen_backbone"]
    assert "stand-in ResNet18 weights: smoke mark" in bob["q6.landmarks"]


def test_mark_sheet_has_the_spec_points(batch):
    rows = {r["student"]: r for r in csv.DictReader((batch["course"] / "marks" / f"{A}.csv").open())}
    assert rows["(max)"]["max_total"] == "90" and rows["(max)"]["auto_max"] == str(AUTO_MAX)
    assert [c for c in rows["(max)"] if c.endswith("(manual)")] == [f"{m} (manual)" for m in MANUAL]
    assert "SMOKE MARKS on stand-in data (resnet18, svhn)" in rows["bob_w25_gradient_avgpool3"]["notes"]


def test_solve_earns_every_auto_point(data_root, tmp_path):
    result, course = solve(A, data_root, tmp_path)
    assert result["run"] == "ok" and result["total"] == result["max"] == AUTO_MAX, result
    assert (course / "solutions" / A / "artifacts" / "q6_resnet18.pt").exists()
