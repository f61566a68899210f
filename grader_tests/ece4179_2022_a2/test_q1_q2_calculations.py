"""Q1 (the MLP by hand) and Q2 (the stacked activation). Expected values are computed here from the
student's own weights (the `variant` fixture: the stored Q1 variant; the spec's table is the printed example)
and from the spec's equation, never stored. Working-out and discussions are manual items.

Q1 is worked by hand: its values are checked to three significant figures (HAND_CALCULATION, as the
release says); an updated weight through its step (old - new) / lr, to the same precision. An answer right
for another variant's weights (a classmate's, the printed example's) earns nothing either, and is recorded
for the staff's mark sheet."""
import functools
import math

import numpy as np
import pytest
import torch

from gradekit.grading import HAND_CALCULATION, expect_array, require
from gradekit.grading.public import function, number

LR = 0.01


@functools.lru_cache(maxsize=None)
def _q1(weights: tuple) -> dict:
    """Forward, BCE and one SGD step (lr 0.01, y = 1) by autograd, in float64."""
    w = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in weights}
    x1, x2 = 1.0, 2.0
    h3 = torch.relu(w["w13"] * x1 + w["w23"] * x2)
    h4 = torch.relu(w["w14"] * x1 + w["w24"] * x2)
    h5 = torch.relu(w["w15"] * x1 + w["w25"] * x2)
    out = torch.sigmoid(w["w36"] * h3 + w["w46"] * h4 + w["w56"] * h5)
    loss_y1 = -torch.log(out)
    loss_y1.backward()
    return {"output": out.item(), "bce_y0": -math.log(1 - out.item()), "bce_y1": loss_y1.item(),
            "grad_w36": w["w36"].grad.item(), "grad_w25": w["w25"].grad.item()}


def q1(weights: dict) -> dict:
    return _q1(tuple(sorted(weights.items())))


def agrees(key: str, answer: float):
    """Whether `answer` is the hand-worked value of `key` for a variant's weights."""
    return lambda weights: HAND_CALCULATION.accepts(answer, q1(weights)[key])


def step_agrees(weight: str, answer: float):
    """Whether the updated `weight` took the right step, (old - new) / lr, for a variant's weights."""
    return lambda weights: HAND_CALCULATION.accepts((weights[weight] - answer) / LR, q1(weights)[f"grad_{weight}"])


@pytest.mark.item("q1.1.output", points=2)
@pytest.mark.public(number("q1.output"))
def test_output(submission, variant):
    variant.require(agrees("output", submission.number("q1.output")), "the network's output",
                    f"the network's output is wrong (checked to {HAND_CALCULATION.describe()})")


@pytest.mark.item("q1.2.bce_y0", points=1)
@pytest.mark.public(number("q1.bce_y0"))
def test_bce_y0(submission, variant):
    variant.require(agrees("bce_y0", submission.number("q1.bce_y0")), "the BCE loss for y = 0",
                    f"the BCE loss for y = 0 (natural log) is wrong (checked to {HAND_CALCULATION.describe()})")


@pytest.mark.item("q1.3.bce_y1", points=0.5)
@pytest.mark.public(number("q1.bce_y1"))
def test_bce_y1(submission, variant):
    variant.require(agrees("bce_y1", submission.number("q1.bce_y1")), "the BCE loss for y = 1",
                    f"the BCE loss for y = 1 (natural log) is wrong (checked to {HAND_CALCULATION.describe()})")


@pytest.mark.item("q1.4.w36", points=2)
@pytest.mark.public(number("q1.w36_updated"))
def test_w36(submission, variant):
    variant.require(step_agrees("w36", submission.number("q1.w36_updated")), "the updated w3,6",
                    f"the updated w3,6 is wrong (checked to {HAND_CALCULATION.describe()})")


@pytest.mark.item("q1.5.w25", points=2)
@pytest.mark.public(number("q1.w25_updated"))
def test_w25(submission, variant):
    variant.require(step_agrees("w25", submission.number("q1.w25_updated")), "the updated w2,5",
                    "the updated w2,5 is wrong: which gradient reaches w2,5 through neuron 5?")


def reference_z(x: np.ndarray) -> np.ndarray:
    top = math.exp(1) - math.exp(-1)
    return np.where(x > 1, top, np.where(x < -1, -top, np.exp(x) - np.exp(-x)))


HIDDEN_X = np.array([-7.5, -1.0001, -1.0, -0.999, -0.31, -1e-3, 0.0, 2e-4, 0.42, 0.9999, 1.0, 1.0001, 3.3])


@pytest.mark.item("q2.z", points=2)
@pytest.mark.public(function("z", [0.0, 2.0], torch_args=True, shape=(2,)))
def test_z(student_code):
    (out,) = student_code.call("z", HIDDEN_X, torch_args=True)
    out = expect_array(out, "z(x)", shape=HIDDEN_X.shape)
    require(np.allclose(out, reference_z(HIDDEN_X), rtol=1e-5, atol=1e-6), "z(x) is wrong on some inputs (check each branch)")


@pytest.mark.item("q2.z_stack", points=1.5)
@pytest.mark.public(function("z_stack", [0.0, 0.0, 0.0], torch_args=True, shape=(3,)))
def test_z_stack(student_code):
    x = HIDDEN_X[HIDDEN_X != 0]
    expected = reference_z(x)
    for _ in range(999):
        expected = reference_z(expected)
    (out,) = student_code.call("z_stack", x, torch_args=True)
    out = expect_array(out, "z_stack(x)", shape=x.shape)
    require(np.allclose(out, expected, rtol=1e-4, atol=1e-6), "z_stack(x, 1000) is wrong on some inputs")
    (zero,) = student_code.call("z_stack", np.zeros(3), torch_args=True)
    require(np.allclose(expect_array(zero, "z_stack(0)", shape=(3,)), 0), "z_stack(0) must stay at the fixed point 0")
