"""Q4: a deep model trained with Adam on hw2_Q4_data.npz, its test accuracy per epoch.

The rebuilt file's training labels are noisy (40 % changed to another class; the students are not told):
measured here (784-256-128-10, Adam 1e-3, batch 128) the test accuracy peaks near 92 % after a few epochs
and falls steadily while the training accuracy on the given labels climbs. The auto items check only the
architecture and that the submitted curve's last value is the final model's; the discussion is manual."""
import pytest
import torch

from gradekit.grading import accuracy, item, parameters, require
from gradekit.grading.public import arrays, model

MIN_EPOCHS = 20
LAST_PP = 0.005


@pytest.fixture(scope="module")
def program(submission):
    return submission.exported("q4_model")


@pytest.mark.item("q4.1.architecture", points=2)
@pytest.mark.public(model("q4_model", (1, 28, 28), outputs=10))
def test_at_least_two_hidden_layers(program):
    weight_layers = [w for w in parameters(program).values() if w.ndim >= 2]
    require(len(weight_layers) >= 3, f"q4_model has {len(weight_layers)} weight layers; two hidden layers need at least 3")
    with torch.no_grad():
        out = program.module()(torch.rand(2, 1, 28, 28))
    require(tuple(out.shape) == (2, 10), f"q4_model must map (N, 1, 28, 28) images to (N, 10) logits, got {tuple(out.shape)}")


@pytest.mark.item("q4.1.test_curve", points=3)
@pytest.mark.public(model("q4_model", (1, 28, 28), outputs=10), arrays("q4_curves", test_acc=None))
def test_last_test_accuracy_is_the_final_model(submission, program, test_split, curve):
    test_acc = curve(submission.arrays("q4_curves"), "test_acc", "q4_curves")
    require(len(test_acc) >= MIN_EPOCHS, f"q4_curves['test_acc'] has {len(test_acc)} epochs; train for at least {MIN_EPOCHS}")
    recomputed = accuracy(program.module(), *test_split("ece4179_hw2_q4"))
    require(abs(test_acc[-1] - recomputed) <= LAST_PP,
            f"your last test accuracy ({test_acc[-1]:.2%}) is not q4_model's ({recomputed:.2%}, recomputed)")
