"""Q1: the face autoencoder (1.1), eigenfaces (1.2) and zero_pixels (1.3).

Readings (also in the notebook's introduction): the loss is nn.MSELoss() (mean over pixels) on faces in
[0, 1]; "every column of W in R^{4096 x n}" is every row of PyTorch's fc1.weight, shown as
row.reshape(64, 64).T; the 80 test faces are per person the last 2 of 10. A fixed shift by the mean face (a
buffer) is allowed: it adds no parameters. Measured on this split: predicting the training mean face gives
a test MSE of 0.01828; the centred solution reaches 0.38x (n = 16) and 0.24x (n = 64) of it; uncentred
Adam 1e-4 or SGD runs about 0.8x; a collapsed network (dead ReLUs) 1.0x."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gradekit.grading import BadArtifact, expect_array, item, parameter_shapes, parameters, require
from gradekit.grading.public import arrays, full, function, model

SIZES = (16, 64)
DEFAULT_INIT_BOUND = 1 / math.sqrt(4096)          # nn.Linear's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
DEFAULT_INIT_STD = DEFAULT_INIT_BOUND / math.sqrt(3)
ANGLE_COSINE = 0.99                               # smallest principal-angle cosine between the subspaces
# eigenfaces as columns (4096, n), the SVD's own layout: the release asks for one per row, (n, 4096)
TRANSPOSED_SHARE = 0.5


def shapes(n):
    return [(n, 4096), (n,), (4096, n), (4096,)]


@pytest.fixture(scope="module")
def autoencoders(submission):
    return {n: submission.exported(f"q1_ae{n}") for n in SIZES}


@pytest.fixture(scope="module")
def snapshots(submission):
    frames = submission.arrays("q1_fc1_snapshots")
    for n in SIZES:
        if f"n{n}" not in frames:
            raise BadArtifact(f"q1_fc1_snapshots has no 'n{n}' array")
    return {n: frames[f"n{n}"] for n in SIZES}


def fc1_weight(program, n) -> torch.Tensor:
    found = [w for w in parameters(program).values() if tuple(w.shape) == (n, 4096)]
    require(len(found) == 1, f"q1_ae{n} must have exactly one fc1 weight of shape ({n}, 4096)")
    return found[0]


@pytest.mark.item("q1.1.architecture", points=2)
@pytest.mark.public(model("q1_ae16", (4096,), outputs=4096), model("q1_ae64", (4096,), outputs=4096))
def test_architecture(autoencoders):
    for n, program in autoencoders.items():
        require(parameter_shapes(program) == shapes(n),
                f"q1_ae{n} must be fc1 Linear(4096, {n}) -> ReLU -> fc2 Linear({n}, 4096) with biases and no other "
                f"parameters; its parameters have shapes {parameter_shapes(program)}")
        with torch.no_grad():
            out = program.module()(torch.rand(3, 4096))
        require(tuple(out.shape) == (3, 4096), f"q1_ae{n} must map (N, 4096) faces to (N, 4096), got {tuple(out.shape)}")


@pytest.mark.item("q1.1.snapshots", points=2)
@pytest.mark.public(model("q1_ae16", (4096,), outputs=4096), model("q1_ae64", (4096,), outputs=4096), arrays("q1_fc1_snapshots", n16=(None, 16, 64, 64), n64=(None, 64, 64, 64)))
def test_snapshots_start_at_the_init_and_end_at_the_model(snapshots, autoencoders):
    for n in SIZES:
        frames = expect_array(snapshots[n], f"q1_fc1_snapshots['n{n}']")
        require(frames.ndim == 4 and frames.shape[1:] == (n, 64, 64) and frames.shape[0] >= 2,
                f"q1_fc1_snapshots['n{n}'] must have shape (T, {n}, 64, 64) with T >= 2, got {frames.shape}")
        first = frames[0].astype(np.float64)
        at_init = (np.abs(first).max() <= DEFAULT_INIT_BOUND * (1 + 1e-6)
                   and abs(first.std() / DEFAULT_INIT_STD - 1) <= 0.05)
        require(at_init, f"the first n = {n} snapshot is not fc1's default random initialisation (epoch 0, before "
                         "any update)")
        final = fc1_weight(autoencoders[n], n).detach().reshape(n, 64, 64).transpose(1, 2).numpy()
        require(np.allclose(frames[-1], final, rtol=1e-4, atol=1e-6),
                f"the last n = {n} snapshot is not q1_ae{n}'s fc1 weight (row j shown as row.reshape(64, 64).T)")


@pytest.mark.item("q1.1.reconstruction", points=3)
@pytest.mark.public(model("q1_ae16", (4096,), outputs=4096), model("q1_ae64", (4096,), outputs=4096))
def test_reconstruction_beats_the_mean_face(autoencoders, test_split, training_faces, credit):
    faces, _ = test_split("olivetti")
    mean_face_mse = F.mse_loss(training_faces.mean(0).expand_as(faces), faces).item()
    ratios = {}
    for n, program in autoencoders.items():
        with torch.no_grad():
            out = program.module()(faces)
        if tuple(out.shape) != tuple(faces.shape):
            raise BadArtifact(f"q1_ae{n} returns shape {tuple(out.shape)} for {tuple(faces.shape)} faces")
        ratios[n] = F.mse_loss(out, faces).item() / mean_face_mse
    worst = max(ratios.values())
    shown = ", ".join(f"n = {n}: {r:.2f}" for n, r in ratios.items())
    require(worst <= 0.9, f"test MSE as a fraction of the mean-face predictor's ({shown}) must be at most 0.9 for both")
    credit.partial(1.0 if worst <= 0.5 else 0.5,
                   f"test MSE as a fraction of the mean-face predictor's: {shown} (≤ 0.5 for both: full; ≤ 0.9: half)")


@pytest.mark.item("q1.2.eigenfaces", points=4)
@pytest.mark.public(arrays("q1_eigenfaces", n16=(16, 4096), n64=(64, 4096)))
def test_eigenfaces_span_the_principal_subspace(submission, training_faces, credit):
    submitted = submission.arrays("q1_eigenfaces")
    centred = (training_faces - training_faces.mean(0)).T.double()        # 4096 x 320, a face per column
    U = torch.linalg.svd(centred, full_matrices=False)[0]
    transposed = []
    for n in SIZES:
        if f"n{n}" not in submitted:
            raise BadArtifact(f"q1_eigenfaces has no 'n{n}' array")
        E = submitted[f"n{n}"]
        if E.shape == (4096, n):
            transposed.append(f"n{n}")
            E = E.T
        E = expect_array(E, f"q1_eigenfaces['n{n}']", shape=(n, 4096))
        if not np.all(np.isfinite(E)):
            raise BadArtifact(f"q1_eigenfaces['n{n}'] holds NaN or infinite values")
        Q, R = torch.linalg.qr(torch.from_numpy(E.T.astype(np.float64)))
        require(torch.abs(torch.diagonal(R)).min() > 1e-8 * torch.abs(torch.diagonal(R)).max(),
                f"the {n} eigenfaces are not linearly independent")
        cosines = torch.linalg.svdvals(Q.T @ U[:, :n])               # cosines of the principal angles
        require(cosines.min().item() >= ANGLE_COSINE,
                f"the {n} eigenfaces do not span the subspace of the first {n} principal components of the "
                f"mean-subtracted training faces (smallest principal-angle cosine {cosines.min().item():.3f})")
    if transposed:
        credit.partial(TRANSPOSED_SHARE, f"q1_eigenfaces['{transposed[0]}'] spans the right subspace, but holds one "
                                         "eigenface per column (4096, n); the release asks for one per row (n, 4096): "
                                         "half the points")


@pytest.mark.item("q1.3.zero_pixels", points=3)
@pytest.mark.public(function("zero_pixels", full((2, 4096), 0.5), 0.1, 0, torch_args=True, shape=(2, 4096)))
def test_zero_pixels(student_code):
    rng = np.random.default_rng(20210906)
    images = rng.uniform(0.05, 1.0, (6, 4096)).astype(np.float32)          # no pixel is 0 to begin with
    for frac, seed in ((0.1, 1), (0.3, 7)):      # 409.6 and 1228.8 pixels: floor and round differ
        (out,), inputs = student_code.call_and_inputs("zero_pixels", images.copy(), frac, seed, torch_args=True)
        out = expect_array(out, f"zero_pixels(images, {frac}, {seed})", shape=images.shape)
        require(np.array_equal(inputs[0], images), "zero_pixels changed its input in place; it must return a new tensor")
        zeroed = out == 0
        per_image = zeroed.sum(axis=1)
        require(np.all(np.abs(per_image - frac * 4096) < 1),
                f"zero_pixels(images, {frac}, seed) zeroed {sorted(set(per_image.tolist()))} pixels per image; "
                f"it must zero frac * 4096 (rounded) in each")
        require(np.array_equal(out[~zeroed], images[~zeroed]), "zero_pixels changed pixels it did not set to 0")
