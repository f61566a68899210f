"""ECE4179 2021 A2 end to end on its example submissions (smoke profile: real Olivetti faces; the two
course .npz files rebuilt from real FashionMNIST and MNIST), and the solution through solve."""
from __future__ import annotations


import pytest

from pipeline import batch_fixture, check_marks, check_spec_points, expected_marks, mark_sheet, outcome, solve

A = "ece4179_2021_a2"
EXPECTED = expected_marks(A)
AUTO_MAX = 45
MANUAL = {"q1-1-discussion": 8, "q1-2-discussion": 6, "q1-3-discussion": 7, "q2-1-discussion": 4,
          "q2-2-discussion": 4, "q3-1-discussion": 6, "q3-2-discussion": 5, "q3-4-discussion": 5,
          "q4-1-discussion": 10}

pytestmark = pytest.mark.slow


batch = batch_fixture(A)


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_submission_gets_exactly_its_marks(batch, student):
    check_marks(batch, student, EXPECTED[student], AUTO_MAX, n_items=17)


def test_reasons_name_each_defect(batch):
    reasons = {s: {i["id"]: i["reason"] for i in outcome(batch, s)[1]["items"]} for s in EXPECTED}
    bob, carol, dave = (reasons[s] for s in ("bob_biasless_counts_raw_eigenfaces", "carol_collapsed_ae_shallow_q4",
                                             "dave_late_snapshot_same_model"))
    assert "weights and biases" in bob["q3.3.params"]
    assert "mean-subtracted training faces" in bob["q1.2.eigenfaces"]
    assert "must be at most 0.9 for both" in carol["q1.1.reconstruction"]
    assert "two hidden layers need at least 3" in carol["q4.1.architecture"]
    assert "default random initialisation" in dave["q1.1.snapshots"]
    assert "is not the network of the epoch its rule picks" in dave["q2.1.consistency"]


def test_mark_sheet_has_the_spec_points(batch):
    rows = mark_sheet(batch)
    check_spec_points(rows, AUTO_MAX, MANUAL)
    notes = rows["bob_biasless_counts_raw_eigenfaces"]["notes"]
    assert "course file rebuilt (ece4179_hw2_q2q3, ece4179_hw2_q4)" in notes and "SMOKE" not in notes


def test_solve_earns_every_auto_point(data_root, tmp_path):
    result, course = solve(A, data_root, tmp_path)
    assert result["run"] == "ok" and result["total"] == result["max"] == AUTO_MAX, result
    # models are exported with a copy of their example batch, never the tensor it was sliced from
    assert (course / "solutions" / A / "artifacts" / "q2_best_valacc.pt2").stat().st_size < 400_000
