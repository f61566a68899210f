"""Part 1, the auto-graded numbers: Q2 backprop by hand and Q6 VGG-11.

Expected values are computed here from the spec's definitions (autograd, torchvision's VGG-11), never
stored, and never shown to students. Q2 convention: MSE is the mean over the two outputs.

Q2 is backpropagation by hand, so its values are checked to three significant figures (HAND_CALCULATION:
within one unit of the third figure, as the release says); an update is checked through its step,
(old - new) / lr, to the same precision, so a value rounded away from its step cannot pass."""
import pytest
import torch
import torchvision

from gradekit.grading import HAND_CALCULATION, agrees, require, require_agrees
from gradekit.grading.public import mapping, number, numbers

WEIGHTS = dict(zip([f"W{i}" for i in range(1, 11)], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.1]))
KEYS = [*WEIGHTS, "b1", "b2"]
LR = 0.01


@pytest.fixture(scope="module")
def backprop():
    """Forward values, gradients and SGD step for the network of the course's figure."""
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in {**WEIGHTS, "b1": 0.5, "b2": 0.5}.items()}
    x, t = torch.tensor([1.0, 4.0, 5.0], dtype=torch.float64), torch.tensor([0.1, 0.05], dtype=torch.float64)
    h1 = torch.sigmoid(p["W1"] * x[0] + p["W3"] * x[1] + p["W5"] * x[2] + p["b1"])
    h2 = torch.sigmoid(p["W2"] * x[0] + p["W4"] * x[1] + p["W6"] * x[2] + p["b1"])
    o1 = torch.sigmoid(p["W7"] * h1 + p["W9"] * h2 + p["b2"])
    o2 = torch.sigmoid(p["W8"] * h1 + p["W10"] * h2 + p["b2"])
    mse = ((o1 - t[0]) ** 2 + (o2 - t[1]) ** 2) / 2
    mse.backward()
    return {"hidden": [h1.item(), h2.item()], "output": [o1.item(), o2.item()], "mse": mse.item(),
            "grad": {k: v.grad.item() for k, v in p.items()}, "start": {k: v.item() for k, v in p.items()}}


@pytest.mark.item("q2.forward", points=3)
@pytest.mark.public(numbers("q2.hidden", 2), numbers("q2.output", 2))
def test_forward(submission, backprop):
    hidden, output = submission.numbers("q2.hidden", 2), submission.numbers("q2.output", 2)
    require_agrees(hidden, backprop["hidden"], HAND_CALCULATION, "the hidden activations h1, h2")
    require_agrees(output, backprop["output"], HAND_CALCULATION, "the outputs o1, o2")


@pytest.mark.item("q2.mse", points=2)
@pytest.mark.public(number("q2.mse"))
def test_mse(submission, backprop):
    require_agrees(submission.number("q2.mse"), backprop["mse"], HAND_CALCULATION, "the MSE (mean over the two outputs)")


@pytest.mark.item("q2.gradients", points=5)
@pytest.mark.public(mapping("q2.grad", KEYS))
def test_gradients(submission, backprop, credit):
    grad = submission.mapping("q2.grad", KEYS)
    wrong = [k for k in KEYS if not agrees(grad[k], backprop["grad"][k], HAND_CALCULATION)]
    require(len(wrong) < len(KEYS), "every gradient is wrong")
    if wrong:
        credit.partial((len(KEYS) - len(wrong)) / len(KEYS), f"{len(KEYS) - len(wrong)} of {len(KEYS)} gradients right; wrong: {', '.join(wrong)}")


@pytest.mark.item("q2.update", points=3)
@pytest.mark.public(mapping("q2.updated", KEYS))
def test_update(submission, backprop, credit):
    """The SGD step itself: (old - new) / lr must be the true gradient. Comparing the step rather than
    the new weights keeps a wrong gradient from hiding behind a tiny learning rate."""
    new = submission.mapping("q2.updated", KEYS)
    wrong = [k for k in KEYS if not agrees((backprop["start"][k] - new[k]) / LR, backprop["grad"][k], HAND_CALCULATION)]
    require(len(wrong) < len(KEYS), "every updated value is wrong")
    if wrong:
        credit.partial((len(KEYS) - len(wrong)) / len(KEYS), f"{len(KEYS) - len(wrong)} of {len(KEYS)} updated values right; wrong: {', '.join(wrong)}")


@pytest.fixture(scope="module")
def vgg11_counts():
    model = torchvision.models.vgg11(weights=None)  # the architecture of the spec's table, biases included
    total = sum(p.numel() for p in model.parameters())
    return total, 100.0 * sum(p.numel() for p in model.classifier.parameters()) / total


@pytest.mark.item("q6.total", points=3)
@pytest.mark.public(number("q6.total_params"))
def test_vgg_total(submission, vgg11_counts):
    require(submission.number("q6.total_params") == vgg11_counts[0], "the total number of parameters is wrong (biases included)")


@pytest.mark.item("q6.fc_share", points=2)
@pytest.mark.public(number("q6.fc_percent"))
def test_vgg_fc_share(submission, vgg11_counts):
    share = submission.number("q6.fc_percent")
    require(abs(share - vgg11_counts[1]) < 0.05, "the FC share is wrong (a percentage, 0-100, to two decimals)")
