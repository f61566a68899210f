"""One grader of each kind: a number worked by hand, a student function called on hidden inputs, a
submitted model checked on the graders' own data. Each test is one mark-sheet item; its reason is for
the student and never carries the expected value. `@pytest.mark.public` declares what the student's
`submit.check()` may check before they submit: the evidence and its form, a function on an example the
release shows; never an expected value or a hidden input (docs/graders.md)."""
import numpy as np
import pytest

from gradekit.grading import HAND_CALCULATION, accuracy, expect_array, parameter_count, require, require_agrees
from gradekit.grading.public import function, model, number


@pytest.mark.item("q1.sum", points=2)
@pytest.mark.public(number("q1.sum"))
def test_hand_worked_number(submission):
    # the expected value is computed here, never stored: 0.1 + 0.2 + ... + 0.9
    require_agrees(submission.number("q1.sum"), sum(k / 10 for k in range(1, 10)), HAND_CALCULATION, "the sum")


@pytest.mark.item("q2.standardise", points=2)
@pytest.mark.public(function("standardise", [1.0, 2.0, 3.0], shape=(3,)))   # a public example, not the graders' inputs
def test_student_function(student_code):
    rng = np.random.default_rng(7)
    cases = [(rng.normal(3, 2, 50),), (rng.uniform(-1, 1, (4, 6)),)]
    for (x,), (out, *_) in zip(cases, student_code.call_each("standardise", cases)):
        out = expect_array(out, "standardise(x)", shape=x.shape)
        require(np.allclose(out, (x - x.mean()) / x.std(), atol=1e-6),
                "standardise(x) is not (x - mean) / standard deviation on the graders' arrays")


@pytest.mark.item("q3.model", points=3)
@pytest.mark.public(model("q3_model", (2,), outputs=2))   # (N, 2) points in, two logits out, as the release says
def test_submitted_model(models, hidden_blobs, credit):
    model = models["q3_model"]
    require(parameter_count(model) <= 100, "q3_model must have at most 100 parameters")
    credit.tiers(accuracy(model.module(), *hidden_blobs), [(0.8, 0.5), (0.95, 1.0)], "accuracy on the graders' points")
