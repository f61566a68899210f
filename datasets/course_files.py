"""Recipes for course files that are not public, rebuilt from real public data (kind `files`, `recipe`),
and the graders' test splits of file datasets. Each recipe is deterministic: the files it writes have
the digest declared in datasets.toml on any machine (stored zip members, fixed timestamps)."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HW2_2021_FOLDER = "ece4179_2021"
Q4_SUBSET, Q4_NOISE, Q4_SEED = 10_000, 0.4, 4179


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez's format (np.load reads it) with fixed member timestamps, so the bytes are reproducible."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
        for key, value in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(value), allow_pickle=False)
            z.writestr(zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buffer.getvalue())
    tmp.replace(path)


def _torchvision_split(root: Path, loader: str, train: bool) -> tuple[np.ndarray, np.ndarray]:
    import torchvision

    split = getattr(torchvision.datasets, loader)(str(root), train=train, download=False)
    return split.data.numpy().astype(np.uint8), split.targets.numpy().astype(np.int64)


def hw2_q2_q3(root: Path, dataset) -> None:
    """hw2_Q2_and_Q3_data.npz: FashionMNIST's train split, first 50,000 for training and the last 10,000
    for validation, and its test split; (N, 28, 28) uint8 images, int64 labels 0..9."""
    x, y = _torchvision_split(root, "FashionMNIST", train=True)
    x_test, y_test = _torchvision_split(root, "FashionMNIST", train=False)
    write_npz(root / HW2_2021_FOLDER / "hw2_Q2_and_Q3_data.npz",
              {"x_train": x[:50_000], "y_train": y[:50_000], "x_val": x[50_000:], "y_val": y[50_000:],
               "x_test": x_test, "y_test": y_test})


def noisy_labels(labels: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Each label, with probability `rate`, replaced by a uniformly drawn *different* class."""
    flip = rng.random(len(labels)) < rate
    shifted = (labels + rng.integers(1, 10, len(labels))) % 10
    return np.where(flip, shifted, labels).astype(np.int64)


def hw2_q4(root: Path, dataset) -> None:
    """hw2_Q4_data.npz: a fixed 10,000-image subset of MNIST's train split with 40 % of the labels
    replaced by another class ("training data can mislead you"), and MNIST's clean test split."""
    x, y = _torchvision_split(root, "MNIST", train=True)
    x_test, y_test = _torchvision_split(root, "MNIST", train=False)
    rng = np.random.default_rng(Q4_SEED)
    subset = np.sort(rng.permutation(len(x))[:Q4_SUBSET])
    write_npz(root / HW2_2021_FOLDER / "hw2_Q4_data.npz",
              {"x_train": x[subset], "y_train": noisy_labels(y[subset], Q4_NOISE, rng), "x_test": x_test,
               "y_test": y_test})


def _npz(root: Path, dataset) -> dict[str, np.ndarray]:
    (rel,) = dataset.files
    with np.load(root / rel) as data:
        return dict(data)


def npz_test_split(root: Path, dataset):
    """(X, y) from an npz's x_test/y_test: images as ToTensor() gives them, (N, 1, 28, 28) in [0, 1]."""
    import torch

    data = _npz(root, dataset)
    return torch.from_numpy(data["x_test"]).float().div(255).unsqueeze(1), torch.from_numpy(data["y_test"])


def olivetti_columns(root: Path, dataset) -> np.ndarray:
    """The .mat's `faces` (4096, 400) uint8: one face per column, ten per person."""
    from scipy.io import loadmat

    (rel,) = dataset.files
    return loadmat(root / rel)["faces"]


def olivetti_test_split(root: Path, dataset):
    """The hidden faces: per person the last 2 of 10 (80), as (80, 4096) float32 columns / 255 in the
    file's order, and the person ids."""
    import torch

    faces = olivetti_columns(root, dataset)
    test = [c for c in range(faces.shape[1]) if c % 10 >= 8]
    return torch.from_numpy(faces[:, test].T.astype(np.float32) / 255), torch.tensor([c // 10 for c in test])
