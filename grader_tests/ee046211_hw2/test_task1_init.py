"""Task 1: the NaN layer (repeated here with the run's SEED) and the student's xavier_init and
kaiming_init, called in a sandbox on shapes the notebook never saw. Both return (fan_out, fan_in); the right
distribution in (fan_in, fan_out) earns TRANSPOSED_SHARE of the item."""
import math

import numpy as np
import pytest
import torch

from gradekit.grading.checks import require
from gradekit.grading.student_code import expect_array
from gradekit.grading.public import function, integer

HIDDEN_SHAPES = [(300, 100), (64, 1000), (777, 777)]  # (fan_in, fan_out)
# the right distribution in the transposed shape, (fan_in, fan_out): the release states (fan_out, fan_in),
# as nn.Linear.weight, so a fair TA takes off half, not all
TRANSPOSED_SHARE = 0.5


@pytest.mark.item("t1.nan_layer", points=3)
@pytest.mark.public(integer("t1.nan_layer"))
def test_nan_layer(submission, seed):
    torch.manual_seed(seed)  # the notebook's given cell: seed, x, then one 512x512 matrix per layer
    x = torch.randn(512)
    expected = None
    for layer in range(1, 101):
        x = torch.randn(512, 512) @ x
        if torch.isnan(x).any():
            expected = layer
            break
    answer = submission.answer("t1.nan_layer")
    require(isinstance(answer, int) and not isinstance(answer, bool), "t1.nan_layer must be an integer layer number")
    require(answer == expected, "not the first layer with a NaN (layers count from 1, with the given seed)")


def _draw(student_code, name, fan_in, fan_out, transposed: list):
    """The drawn weights in (fan_out, fan_in); a draw in (fan_in, fan_out) is noted in `transposed`."""
    (w,) = student_code.call(name, fan_in, fan_out)
    if isinstance(w, np.ndarray) and fan_in != fan_out and tuple(w.shape) == (fan_in, fan_out):
        transposed.append(f"{name}({fan_in}, {fan_out})")
        w = w.T
    return expect_array(w, f"{name}({fan_in}, {fan_out})", shape=(fan_out, fan_in)).astype(np.float64)


def _shape_credit(credit, name: str, transposed: list) -> None:
    if transposed:
        credit.partial(TRANSPOSED_SHARE, f"{name} draws the right distribution, but in shape (fan_in, fan_out) "
                                         f"({transposed[0]}); the release asks for (fan_out, fan_in), as "
                                         "nn.Linear.weight: half the points")


@pytest.mark.item("t1.xavier_init", points=4)
@pytest.mark.public(function("xavier_init", 3, 2, shape=(2, 3)))
def test_xavier(student_code, credit):
    transposed = []
    for fan_in, fan_out in HIDDEN_SHAPES:
        w = _draw(student_code, "xavier_init", fan_in, fan_out, transposed)
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        label = f"xavier_init({fan_in}, {fan_out})"
        require(np.abs(w).max() <= bound * (1 + 1e-5), f"{label} has values outside the Xavier bound")
        require(np.abs(w).max() >= 0.97 * bound, f"{label} does not reach the Xavier bound: the bound is too small")
        require(abs(w.mean()) < 0.05 * bound, f"{label} is not centred on 0")
        require(abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.05, f"{label} does not have a uniform distribution's spread")
    _shape_credit(credit, "xavier_init", transposed)


@pytest.mark.item("t1.kaiming_init", points=4)
@pytest.mark.public(function("kaiming_init", 3, 2, shape=(2, 3)))
def test_kaiming(student_code, credit):
    transposed = []
    for fan_in, fan_out in HIDDEN_SHAPES:
        w = _draw(student_code, "kaiming_init", fan_in, fan_out, transposed)
        std = math.sqrt(2.0 / fan_in)
        label = f"kaiming_init({fan_in}, {fan_out})"
        require(abs(w.mean()) < 0.05 * std, f"{label} is not centred on 0")
        require(abs(w.std() / std - 1) < 0.05, f"{label} has the wrong standard deviation (fan-in mode, ReLU gain)")
        tail = (np.abs(w) > 2 * std).mean()  # 4.55 % for a normal, 0 % for a uniform of the same std
        require(0.03 < tail < 0.065, f"{label} does not look normally distributed")
    _shape_credit(credit, "kaiming_init", transposed)
