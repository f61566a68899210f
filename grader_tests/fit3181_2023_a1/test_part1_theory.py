"""Part 1: ELU (1.1a), the published feed-forward network (1.2), backpropagation (1.3).

Every expected value is computed here with torch's autograd in float64 from the published networks (the
notebook's Q1.2 and Q1.3 tables; the spec's figures are missing), never stored. Hand-worked values are
checked to 3 significant figures; the label-smoothed loss (1.2g) to 1e-5 absolute, because the variant that
spreads α over the K−1 wrong classes differs from the paper's α/K only in the fourth decimal (2.5e-4 here);
the updated parameters (1.3d) to 1e-5 absolute, because the SGD step moves them by about 1e-3."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import answer_array
from gradekit.grading import HAND_CALCULATION, Tolerance, expect_array, require, require_agrees
from gradekit.grading.public import answer, array, defined, function, number, numbers

HIDDEN_SEED = 3181
EXACT = Tolerance(rel=1e-6, abs=1e-9)
LS_PRECISION = Tolerance(rel=0, abs=1e-5)
UPDATE_PRECISION = Tolerance(rel=0, abs=1e-5)

X12, Y12, ALPHA = [1.0, 2.0, -1.0], 3, 0.1
NET12 = ([[0.5, -0.4, 0.3, 0.2], [0.1, 0.3, -0.6, 0.4], [0.2, -0.1, 0.5, -0.3]], [0.1, -0.2, 0.3, 0.0],
         [[0.4, -0.5, 0.2], [-0.3, 0.6, 0.1], [0.7, 0.2, -0.4], [-0.2, 0.3, 0.5]], [0.0, 0.1, -0.2],
         [[0.3, 0.1, -0.2, 0.4], [0.5, -0.3, 0.2, 0.6], [0.2, 0.4, 0.1, 0.7]], [0.1, 0.0, 0.2, -0.1])
X13, Y13, LR = [1.0, -1.0, 0.0], 3, 0.01
NET13 = ([[0.2, -0.3, 0.5, 0.1], [0.4, 0.1, -0.2, 0.3], [-0.5, 0.2, 0.3, -0.1]], [0.3, 0.1, -0.1, 0.4],
         [[0.3, -0.2, 0.1], [0.5, 0.4, -0.3], [-0.4, 0.2, 0.6], [0.1, -0.5, 0.2]], [0.1, -0.1, 0.0])
BACKPROP_NAMES = ("l", "dl_dh2", "dl_dW2", "dl_db2", "dl_dh1", "dl_dhbar1", "dl_dW1", "dl_db1",
                  "W2_new", "b2_new", "W1_new", "b1_new")


def t64(a):
    return torch.tensor(a, dtype=torch.float64)


def forward12():
    W1, b1, W2, b2, W3, b3 = map(t64, NET12)
    h1 = torch.relu(t64(X12) @ W1 + b1)
    h2 = torch.relu(h1 @ W2 + b2)
    h3 = h2 @ W3 + b3
    p = torch.softmax(h3, 0)
    ce = F.cross_entropy(h3[None], torch.tensor([Y12 - 1])).item()
    ls = F.cross_entropy(h3[None], torch.tensor([Y12 - 1]), label_smoothing=ALPHA).item()   # t = (1-a) onehot + a/K
    return {"h1": h1.numpy(), "h2": h2.numpy(), "h3": h3.numpy(), "p": p.numpy(), "class": int(p.argmax()) + 1,
            "ce": ce, "ls": ls}


def reference_backprop(x, y, W1, b1, W2, b2, lr) -> dict[str, np.ndarray]:
    """Autograd on the 3 -> 4 (ReLU) -> 3 network: the loss, the gradients the question names, one SGD step."""
    W1, b1, W2, b2 = (t64(a).requires_grad_(True) for a in (W1, b1, W2, b2))
    hbar1 = t64(x) @ W1 + b1
    hbar1.retain_grad()
    h1 = torch.relu(hbar1)
    h1.retain_grad()
    h2 = h1 @ W2 + b2
    h2.retain_grad()
    loss = F.cross_entropy(h2[None], torch.tensor([y - 1]))
    loss.backward()
    values = [loss, h2.grad, W2.grad, b2.grad, h1.grad, hbar1.grad, W1.grad, b1.grad,
              W2 - lr * W2.grad, b2 - lr * b2.grad, W1 - lr * W1.grad, b1 - lr * b1.grad]
    return {n: v.detach().numpy() for n, v in zip(BACKPROP_NAMES, values)}


def hidden_instances(count=3):
    """Random float64 parameters and inputs; every instance has an inactive hidden unit (so the ReLU's
    derivative matters) and no pre-activation at exactly 0."""
    rng = np.random.default_rng(HIDDEN_SEED)
    out = []
    while len(out) < count:
        x, W1, b1 = rng.normal(size=3), rng.normal(0, 0.7, (3, 4)), rng.normal(0, 0.3, 4)
        hbar1 = x @ W1 + b1
        if (hbar1 < -0.05).any() and (hbar1 > 0.05).any():
            out.append((x, int(rng.integers(1, 4)), W1, b1, rng.normal(0, 0.7, (4, 3)), rng.normal(0, 0.3, 3), 0.05))
    return out


# 1.1a ----------------------------------------------------------------------------------------------------
@pytest.mark.item("q1.1a.elu", points=1)
@pytest.mark.public(function("elu", [-1.0, 2.0], 1.0, shape=(2,)), function("elu_grad", [-1.0, 2.0], 1.0, shape=(2,)))
def test_elu_and_its_derivative(student_code):
    rng = np.random.default_rng(HIDDEN_SEED)
    x = rng.uniform(-5, 3, 200)
    x = x[np.abs(x) > 1e-3]     # no exact 0: ELU is not differentiable there unless alpha = 1
    cases = [(f, (x, a)) for a in (1.0, 0.5, 2.0) for f in ("elu", "elu_grad")]
    results = student_code.call_many(cases)
    for (name, (_, alpha)), (out, *_) in zip(cases, results):
        xt = torch.tensor(x, requires_grad=True)
        y = F.elu(xt, alpha)
        expected = y.detach().numpy() if name == "elu" else torch.autograd.grad(y.sum(), xt)[0].numpy()
        out = expect_array(out, f"{name}(x, {alpha})", shape=x.shape)
        require(np.allclose(out, expected, rtol=1e-6, atol=1e-9),
                f"{name}(x, alpha={alpha}) differs from the definition on the graders' inputs")


# 1.2 -----------------------------------------------------------------------------------------------------
def item(qid, points, *args, public=()):
    """One parametrized case as its own mark-sheet item, with its public checks."""
    return pytest.param(*args, marks=[pytest.mark.item(qid, points=points), pytest.mark.public(*public)], id=qid)


@pytest.mark.parametrize("key,length,what", [
    item("q1.2.a_h1", 1, "h1", 4, "h¹(x)", public=[numbers("q1.2.h1", 4)]),
    item("q1.2.b_h2", 1, "h2", 3, "h²(x)", public=[numbers("q1.2.h2", 3)]),
    item("q1.2.c_h3", 1, "h3", 4, "the logits h³(x)", public=[numbers("q1.2.h3", 4)]),
    item("q1.2.d_p", 1, "p", 4, "p(x)", public=[numbers("q1.2.p", 4)])])
def test_forward_values(submission, key, length, what):
    values = submission.numbers(f"q1.2.{key}", length)
    require_agrees(values, forward12()[key], HAND_CALCULATION, what)


@pytest.mark.item("q1.2.e_prediction", points=1)
@pytest.mark.public(number("q1.2.pred_class"), answer("q1.2.correct"))
def test_prediction(submission):
    expected = forward12()["class"]
    require(submission.number("q1.2.pred_class") == expected, "q1.2.pred_class is not the class of the highest probability (counted from 1)")
    correct = submission.answer("q1.2.correct")
    require(isinstance(correct, bool), "q1.2.correct must be True or False")
    require(correct == (expected == Y12), "q1.2.correct does not say whether the predicted class is the label y = 3")


@pytest.mark.item("q1.2.f_ce", points=1)
@pytest.mark.public(number("q1.2.ce"))
def test_cross_entropy(submission):
    require_agrees(submission.number("q1.2.ce"), forward12()["ce"], HAND_CALCULATION, "the cross-entropy loss")


@pytest.mark.item("q1.2.g_label_smoothing", points=1)
@pytest.mark.public(number("q1.2.ls"))
def test_label_smoothing(submission):
    require_agrees(submission.number("q1.2.ls"), forward12()["ls"], LS_PRECISION,
                   "the label-smoothed loss (t = (1 − α)·onehot(y) + α/K)")


# 1.3 -----------------------------------------------------------------------------------------------------
SHAPES = {"l": (), "dl_dh2": (3,), "dl_dW2": (4, 3), "dl_db2": (3,), "dl_dh1": (4,), "dl_dhbar1": (4,),
          "dl_dW1": (3, 4), "dl_db1": (4,), "W2_new": (4, 3), "b2_new": (3,), "W1_new": (3, 4), "b1_new": (4,)}


def published(*names):
    """The public form of the published-network answers: numbers in these shapes."""
    return [array(f"q1.3.{name}", SHAPES[name]) for name in names]


def check_published(submission, names, precision):
    expected = reference_backprop(X13, Y13, *NET13, LR)
    for name in names:
        value = answer_array(submission, f"q1.3.{name}", SHAPES[name])
        require_agrees(value.ravel(), expected[name].ravel(), precision, f"q1.3.{name}")


@pytest.mark.parametrize("names,precision", [
    item("q1.3.a_loss", 2, ("l",), HAND_CALCULATION, public=published("l")),
    item("q1.3.b_dl_dh2", 1, ("dl_dh2",), HAND_CALCULATION, public=published("dl_dh2")),
    item("q1.3.b_dl_dW2", 1, ("dl_dW2",), HAND_CALCULATION, public=published("dl_dW2")),
    item("q1.3.b_dl_db2", 1, ("dl_db2",), HAND_CALCULATION, public=published("dl_db2")),
    item("q1.3.c_dl_dh1_dhbar1", 1, ("dl_dh1", "dl_dhbar1"), HAND_CALCULATION, public=published("dl_dh1", "dl_dhbar1")),
    item("q1.3.c_dl_dW1_db1", 1, ("dl_dW1", "dl_db1"), HAND_CALCULATION, public=published("dl_dW1", "dl_db1")),
    item("q1.3.d_update", 1, ("W2_new", "b2_new", "W1_new", "b1_new"), UPDATE_PRECISION, public=published("W2_new", "b2_new", "W1_new", "b1_new"))])
def test_published_backprop(submission, names, precision):
    check_published(submission, names, precision)


@pytest.mark.item("q1.3.d_backprop_hidden", points=1)
@pytest.mark.public(defined("backprop"))
def test_backprop_on_hidden_parameters(student_code):
    instances = hidden_instances()
    results = student_code.call_each("backprop", instances)
    for case, out in zip(instances, results):
        require(len(out) == len(BACKPROP_NAMES), f"backprop must return the {len(BACKPROP_NAMES)} values "
                                                 f"({', '.join(BACKPROP_NAMES)}), not {len(out)}")
        expected = reference_backprop(*case)
        for name, value in zip(BACKPROP_NAMES, out):
            value = expect_array(value, f"backprop's {name}", shape=SHAPES[name] if name != "l" else None)
            require(value.size == expected[name].size and np.allclose(np.ravel(value), expected[name].ravel(), rtol=1e-6, atol=1e-9),
                    f"backprop's {name} is wrong on the graders' random parameters")
