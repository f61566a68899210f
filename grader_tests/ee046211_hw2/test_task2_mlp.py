"""Task 2: the FashionMNIST MLP, accuracy recomputed from the exported model on the real test set.
The smoke profile uses the real data too, so the spec's thresholds apply unchanged."""
import pytest
import torch

from gradekit.grading.checks import accuracy, parameters, require
from gradekit.grading.public import model, number

TIERS = [(0.85, 0.5), (0.89, 1.0)]      # spec: 85 % for half, 89 % for full marks
REINIT_TIERS = [(0.80, 0.5), (0.85, 1.0)]
REPORT_TOLERANCE = 0.005                # printed vs recomputed accuracy


@pytest.fixture(scope="module")
def fashion_test(test_split):
    return test_split("fashionmnist")


@pytest.fixture(scope="module")
def mlp_accuracy(submission, fashion_test):
    return accuracy(submission.model("task2_mlp"), *fashion_test)


@pytest.mark.item("task2.accuracy", points=15)
@pytest.mark.public(model("task2_mlp", (1, 28, 28), outputs=10))
def test_accuracy(mlp_accuracy, credit):
    credit.tiers(mlp_accuracy, TIERS, "test accuracy of task2_mlp (recomputed)")


@pytest.mark.item("task2.reported_accuracy", points=2)
@pytest.mark.public(number("task2.accuracy"))
def test_reported_accuracy(submission, mlp_accuracy):
    reported = submission.number("task2.accuracy")
    require(abs(reported - mlp_accuracy) <= REPORT_TOLERANCE,
            f"the reported accuracy {reported:.4f} is not what the submitted model scores ({mlp_accuracy:.4f})")


@pytest.mark.item("task2.reinit", points=5)
@pytest.mark.public(model("task2_mlp_reinit", (1, 28, 28), outputs=10), number("task2.reinit_accuracy"), number("task2.accuracy_change"))
def test_reinit(submission, fashion_test, mlp_accuracy, credit):
    original, reinit = submission.exported("task2_mlp"), submission.exported("task2_mlp_reinit")
    a, b = parameters(original), parameters(reinit)
    require(a.keys() != b.keys() or any(not torch.equal(a[k], b[k]) for k in a),
            "task2_mlp_reinit is the same model as task2_mlp: it was not retrained")
    acc = accuracy(reinit.module(), *fashion_test)
    reported, change = submission.number("task2.reinit_accuracy"), submission.number("task2.accuracy_change")
    require(abs(reported - acc) <= REPORT_TOLERANCE,
            f"the reported re-initialised accuracy {reported:.4f} is not what the model scores ({acc:.4f})")
    require(abs(change - (acc - mlp_accuracy)) <= 2 * REPORT_TOLERANCE,
            "the reported change in accuracy is not the difference of the two models' accuracies")
    credit.tiers(acc, REINIT_TIERS, "test accuracy of task2_mlp_reinit (recomputed)")
