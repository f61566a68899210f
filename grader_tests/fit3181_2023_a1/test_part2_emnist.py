"""Part 2: EMNIST letters. Labels 1..26 are encoded 0..25 (the ordinal codes of the sorted distinct labels);
the spec's "10 (softmax)" output is read as 26 logits (784-20-40-26, 17,606 parameters). Accuracies are
recomputed on the test split from the exported models; "best" in 2.5 is the row with the highest val_acc."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import FFN_TIERS, as_fraction
from gradekit.grading import (BadArtifact, activations, count_ops, expect_array, parameter_shapes, require)
from gradekit.grading.public import answer, arrays, full, function, mapping, model, numbers, number

HIDDEN_SEED = 2023
GRID = set(itertools.product((20, 40), (20, 40), ("sigmoid", "tanh", "relu")))


def ffn_shapes(n1, n2, classes=26):
    return [(n1, 784), (n1,), (n2, n1), (n2,), (classes, n2), (classes,)]


def grid_rows(submission) -> list[dict]:
    rows = submission.answer("q2.grid")
    if not isinstance(rows, list) or not all(isinstance(r, dict) and {"n1", "n2", "act", "val_acc"} <= set(r) for r in rows):
        raise BadArtifact('q2.grid must be a list of rows {"n1": ..., "n2": ..., "act": ..., "val_acc": ...}')
    return rows


def combination(row) -> tuple:
    return int(row["n1"]), int(row["n2"]), str(row["act"]).lower()


@pytest.mark.item("q2.1.encode_labels", points=2)
@pytest.mark.public(function("encode_labels", [3, 8, 3, 15], shape=(4,)))
def test_encode_labels(student_code):
    rng = np.random.default_rng(HIDDEN_SEED)
    cases = [rng.permutation(np.repeat(np.arange(1, 27), 3)),               # EMNIST letters' labels
             rng.choice(np.array([3, 8, 15, 42, 100]), 40),                 # any label set: the sorted distinct values
             rng.choice(np.arange(1, 27), 30).astype(np.uint8)]
    for labels, (out, *_) in zip(cases, student_code.call_each("encode_labels", [(c,) for c in cases])):
        out = expect_array(out, "encode_labels(labels)", shape=labels.shape, kinds="iu")
        require(np.array_equal(out, np.unique(labels, return_inverse=True)[1].reshape(labels.shape)),
                "encode_labels does not map the sorted distinct labels to 0..K-1 on the graders' label arrays")


@pytest.mark.item("q2.1.shapes", points=2)
@pytest.mark.public(numbers("q2.train_shape", 2), numbers("q2.test_shape", 2))
def test_reported_shapes(submission, datasets):
    n_train = len(datasets.load("emnist", split="letters", train=True))
    n_test = len(datasets.load("emnist", split="letters", train=False))
    for qid, n in (("q2.train_shape", n_train), ("q2.test_shape", n_test)):
        require(submission.numbers(qid, 2) == [n, 784], f"{qid} is not the shape of the data as arrays of vectors")


@pytest.mark.item("q2.2.split", points=1)
@pytest.mark.public(mapping("q2.split_sizes", ["train", "val"]))
def test_split_sizes(submission, datasets):
    n = len(datasets.load("emnist", split="letters", train=True))
    sizes = submission.mapping("q2.split_sizes", ["train", "val"])
    require(sizes["train"] + sizes["val"] == n, f"the training and validation sets must together be the {n:,} training images")
    require(sizes["val"] in {n // 10, round(n / 10), -(-n // 10)}, "the validation set must be 10 % of the training data")


@pytest.mark.item("q2.2.scale", points=1)
@pytest.mark.public(function("scale", [[0, 255]], shape=(1, 2)))
def test_scale(student_code):
    rng = np.random.default_rng(HIDDEN_SEED)
    cases = [rng.integers(0, 256, (5, 784), dtype=np.uint8), rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)]
    for x, (out, *_) in zip(cases, student_code.call_each("scale", [(c,) for c in cases])):
        out = expect_array(out, "scale(x)", shape=x.shape)
        require(np.allclose(out, x / 255.0, atol=1e-6), "scale(x) is not x / 255 on the graders' uint8 arrays")


@pytest.mark.item("q2.4.architecture", points=2)
@pytest.mark.public(model("q2_ffn", (1, 28, 28), outputs=26))
def test_ffn_architecture(models):
    net = models["q2_ffn"]
    require(parameter_shapes(net) == ffn_shapes(20, 40), "q2_ffn is not 784 -> 20 -> 40 -> 26 (26 letters); its "
                                                         f"parameter shapes are {parameter_shapes(net)}")
    require(activations(net) == {"relu"} and count_ops(net, "relu") == 2, "q2_ffn must apply ReLU after each hidden layer")


@pytest.mark.item("q2.4.accuracy", points=2)
@pytest.mark.public(model("q2_ffn", (1, 28, 28), outputs=26))
def test_ffn_accuracy(test_accuracy, credit, stand_in_note):
    credit.tiers(test_accuracy["q2_ffn"], FFN_TIERS, "test accuracy of q2_ffn (recomputed)")
    credit.note += stand_in_note("emnist")


@pytest.mark.item("q2.4.epochs", points=1)
@pytest.mark.public(arrays("q2_ffn_log", train_loss=None, val_acc=None))
def test_trained_twenty_epochs(submission):
    log = submission.arrays("q2_ffn_log")
    lengths = {k: len(np.ravel(log[k])) for k in ("train_loss", "val_acc") if k in log}
    require(len(lengths) == 2, "q2_ffn_log must hold train_loss and val_acc, one value per epoch")
    require(min(lengths.values()) >= 20, f"q2_ffn was trained for {min(lengths.values())} epochs; at least 20 are asked for")


@pytest.mark.item("q2.5.grid", points=2)
@pytest.mark.public(answer("q2.grid"))
def test_grid_table(submission):
    rows = grid_rows(submission)
    combos = [combination(r) for r in rows]
    require(len(rows) == 12 and set(combos) == GRID,
            "q2.grid must have exactly one row for each of the 12 (n1, n2, act) combinations")


@pytest.mark.item("q2.5.best_architecture", points=2)
@pytest.mark.public(model("q2_best", (1, 28, 28), outputs=26), answer("q2.grid"))
def test_best_is_the_best_row(submission, models):
    rows = grid_rows(submission)
    top = max(float(r["val_acc"]) for r in rows)
    best = [combination(r) for r in rows if float(r["val_acc"]) == top]
    net = models["q2_best"]
    require(any(parameter_shapes(net) == ffn_shapes(n1, n2) and activations(net) == {act} for n1, n2, act in best),
            "q2_best does not have the sizes and activation of the grid's row with the highest val_acc")


@pytest.mark.item("q2.5.best_accuracy", points=2)
@pytest.mark.public(model("q2_best", (1, 28, 28), outputs=26), number("q2.best_test_acc"))
def test_best_accuracy_reported(submission, check_reported):
    check_reported(submission.number("q2.best_test_acc"), "q2_best", "q2.best_test_acc")


@pytest.mark.item("q2.6.loss_function", points=3)
@pytest.mark.public(function("label_smoothing_loss", full((2, 26), 0.5), [0, 3], 0.1, torch_args=True, returns="number"))
def test_label_smoothing_loss(student_code):
    g = torch.Generator().manual_seed(HIDDEN_SEED)
    cases = []
    for n, k, alpha in ((16, 26, 0.1), (7, 5, 0.25), (9, 10, 0.0)):
        cases.append((3 * torch.randn(n, k, generator=g, dtype=torch.float64), torch.randint(0, k, (n,), generator=g), alpha))
    results = student_code.call_each("label_smoothing_loss", [(l.numpy(), t.numpy(), a) for l, t, a in cases], torch_args=True)
    for (logits, targets, alpha), (out, *_) in zip(cases, results):
        expected = F.cross_entropy(logits, targets, label_smoothing=alpha).item()   # t = (1 - a) onehot + a / K
        out = expect_array(out, "label_smoothing_loss(logits, targets, alpha)")
        require(out.size == 1 and abs(float(out.ravel()[0]) - expected) <= 1e-5 * max(1, abs(expected)),
                f"label_smoothing_loss differs from the definition (mean of -sum t log p, t = (1 - α) onehot + α/K) "
                f"for {logits.shape[0]} examples, {logits.shape[1]} classes, α = {alpha}")


@pytest.mark.item("q2.6.models", points=2)
@pytest.mark.public(model("q2_ls010", (1, 28, 28), outputs=26), model("q2_ls015", (1, 28, 28), outputs=26), model("q2_ls020", (1, 28, 28), outputs=26), mapping("q2.ls_test_acc", ["0.1", "0.15", "0.2"]))
def test_smoothed_models(submission, models, check_reported):
    reported = submission.mapping("q2.ls_test_acc", ["0.1", "0.15", "0.2"])
    best = models["q2_best"]
    for alpha, name in (("0.1", "q2_ls010"), ("0.15", "q2_ls015"), ("0.2", "q2_ls020")):
        net = models[name]
        require(parameter_shapes(net) == parameter_shapes(best) and activations(net) == activations(best),
                f"{name} does not have q2_best's architecture")
        check_reported(reported[alpha], name, f"q2.ls_test_acc[{alpha}]")
