"""Data the ECE4179 2021 A2 graders share: the graders' own copies of the splits, loaded once per student."""
import numpy as np
import pytest
import torch

from gradekit.grading import Lazy


def as_images(x: np.ndarray) -> torch.Tensor:
    """(N, 28, 28) uint8 -> (N, 1, 28, 28) float in [0, 1], the input the release asks every classifier to take."""
    return torch.from_numpy(x).float().div(255).unsqueeze(1)


@pytest.fixture(scope="session")
def models(submission):
    """models["q3_deep"]: the exported program, loaded when an item first asks for it."""
    return Lazy(submission.exported)


@pytest.fixture(scope="session")
def fashion_test_accuracy(models, test_split):
    """fashion_test_accuracy["q3_deep"]: the model's accuracy on the npz's test split, recomputed."""
    from gradekit.grading import accuracy

    return Lazy(lambda name: accuracy(models[name].module(), *test_split("ece4179_hw2_q2q3")))


@pytest.fixture(scope="session")
def fashion_val(datasets):
    """The validation split of hw2_Q2_and_Q3_data.npz (the test split comes from test_split)."""
    with np.load(datasets.path("ece4179_hw2_q2q3")) as data:
        return as_images(data["x_val"]), torch.from_numpy(data["y_val"])


@pytest.fixture(scope="session")
def training_faces(datasets):
    """The 320 training faces (per person the first 8 of 10), (320, 4096) float32 in [0, 1], file order."""
    from scipy.io import loadmat

    faces = loadmat(datasets.path("olivetti"))["faces"]
    return torch.from_numpy(faces[:, [c for c in range(400) if c % 10 < 8]].T.astype(np.float32) / 255)


@pytest.fixture(scope="session")
def curve():
    """curve(arrays, key, what): a per-epoch curve from a submitted arrays file (see read_curve)."""
    return read_curve


def read_curve(arrays: dict, key: str, what: str) -> np.ndarray:
    """A per-epoch curve from a submitted arrays file, as fractions (a curve in percent is rescaled)."""
    from gradekit.grading import BadArtifact

    if key not in arrays:
        raise BadArtifact(f"{what} has no '{key}' array (keys: {', '.join(sorted(arrays)) or 'none'})")
    values = np.asarray(arrays[key], dtype=np.float64).ravel()
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise BadArtifact(f"{what}['{key}'] must be a non-empty array of finite numbers")
    return values / 100 if key.endswith("acc") and values.max() > 1 else values
