"""Fixtures the graders of {name} share. The kit's own fixtures arrive by name (docs/graders.md):
submission, credit, student_code, datasets, test_split, profile, seed, run_dir."""
import pytest
import torch

from gradekit.grading import Lazy

HIDDEN_SEED = 1234   # the graders' own inputs: never in the notebook


def blobs(n: int, seed: int):
    """Two Gaussian blobs in 2-D, labels 0 and 1 (the notebook makes its training set the same way)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) * 0.6 + torch.where(y[:, None] == 1, 1.5, -1.5)
    return x, y


@pytest.fixture(scope="session")
def hidden_blobs():
    return blobs(400, HIDDEN_SEED)


@pytest.fixture(scope="session")
def models(submission):
    """models["q3_model"]: each exported model loaded on first use (a missing one fails only its items)."""
    return Lazy(submission.exported)
