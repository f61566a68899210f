"""Q3: the deep MLPs 784-32-64-32-10 (3.1) and 784-128-64-128-10 (3.2), and their parameter counts (3.3).

"← ŷ" in the spec reads "= ŷ". The submitted model is the network at the epoch the student picked; the
graders recompute its validation accuracy and compare it with the student's curve at that epoch (1 pp).
Only the validation curve is checked: a training accuracy recorded as a running mean during the epoch is
a legitimate choice that a recomputation would not match. Measured here (SGD lr 0.1, /10 at epochs 16 and
26, 30 epochs): test accuracy of the picked model about 86-87 %."""
import pytest

from gradekit.grading import accuracy, item, parameter_shapes, require
from gradekit.grading.public import arrays, model, number

SPECS = {"deep": [784, 32, 64, 32, 10], "wide": [784, 128, 64, 128, 10]}
TIERS = [(0.80, 0.5), (0.84, 1.0)]
CURVE_PP = 0.01


def shapes(sizes):
    return [s for a, b in zip(sizes, sizes[1:]) for s in ((b, a), (b,))]


def spec_parameters(sizes):
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))   # weights and biases: the spec's layers have biases


def check_architecture(models, name):
    sizes = SPECS[name]
    require(parameter_shapes(models[f"q3_{name}"]) == shapes(sizes),
            f"q3_{name} must be {' -> '.join(map(str, sizes))} (Linear layers with biases, ReLU between); its "
            f"parameters have shapes {parameter_shapes(models[f'q3_{name}'])}")


@pytest.mark.item("q3.1.architecture", points=3)
@pytest.mark.public(model("q3_deep", (1, 28, 28), outputs=10))
def test_deep_architecture(models):
    check_architecture(models, "deep")


@pytest.mark.item("q3.1.accuracy", points=4)
@pytest.mark.public(model("q3_deep", (1, 28, 28), outputs=10))
def test_deep_accuracy(fashion_test_accuracy, credit):
    credit.tiers(fashion_test_accuracy["q3_deep"], TIERS, "test accuracy of q3_deep (recomputed)")


@pytest.mark.item("q3.1.curves", points=2)
@pytest.mark.public(model("q3_deep", (1, 28, 28), outputs=10), arrays("q3_deep_curves", val_acc=None), number("q3.deep_epoch"))
def test_deep_curves_match_the_model(submission, models, fashion_val, curve):
    val_acc = curve(submission.arrays("q3_deep_curves"), "val_acc", "q3_deep_curves")
    epoch = submission.number("q3.deep_epoch")
    require(epoch == int(epoch) and 1 <= epoch <= len(val_acc),
            f"q3.deep_epoch must be an epoch of your curves, 1 to {len(val_acc)}")
    recomputed = accuracy(models["q3_deep"].module(), *fashion_val)
    shown = val_acc[int(epoch) - 1]
    require(abs(shown - recomputed) <= CURVE_PP,
            f"your validation curve says {shown:.2%} at epoch {int(epoch)}, q3_deep scores {recomputed:.2%}")


@pytest.mark.item("q3.2.architecture", points=2)
@pytest.mark.public(model("q3_wide", (1, 28, 28), outputs=10))
def test_wide_architecture(models):
    check_architecture(models, "wide")


@pytest.mark.item("q3.2.accuracy", points=3)
@pytest.mark.public(model("q3_wide", (1, 28, 28), outputs=10))
def test_wide_accuracy(fashion_test_accuracy, credit):
    credit.tiers(fashion_test_accuracy["q3_wide"], TIERS, "test accuracy of q3_wide (recomputed)")


@pytest.mark.item("q3.3.params", points=5)
@pytest.mark.public(number("q3.params_deep"), number("q3.params_wide"))
def test_parameter_counts(submission):
    for name, sizes in SPECS.items():
        reported = submission.number(f"q3.params_{name}")
        require(reported == spec_parameters(sizes),
                f"q3.params_{name} is not the number of weights and biases of {' -> '.join(map(str, sizes))}")
