"""Q1: the shallow CNN of Table 1 (1.1), top_correct (1.2), top_wrong (1.3), confusion_matrix (1.4).

Table 1 adds up as written: 96 -> 45 -> 21 -> 10 -> maxpool 3x3 stride 3 -> 3; 128 x 3 x 3 = 1152 (390,602
parameters). Confusion matrices: rows the true class, columns the predicted (Ting 2010, sklearn)."""
import numpy as np
import pytest
import torch

from gradekit.grading import (BadArtifact, conv_paddings, conv_strides, expect_array, parameter_shapes,
                              predict, require, uses_op)
from gradekit.grading.public import answer, arrays, full, function, model, number

SHAPES = [(96, 3, 7, 7), (96,), (64, 96, 5, 5), (64,), (128, 64, 3, 3), (128,), (128, 1152), (128,), (10, 128), (10,)]
HIDDEN_SEED = 2021


def hidden_scores(n=240, classes=10):
    g = torch.Generator().manual_seed(HIDDEN_SEED)
    probs = torch.softmax(2.5 * torch.randn(n, classes, generator=g), 1)
    labels = torch.where(torch.rand(n, generator=g) < 0.5, probs.argmax(1), torch.randint(0, classes, (n,), generator=g))
    return probs.numpy(), labels.numpy()


def reference_top(probs, labels, k, correct: bool):
    pred, confidence = probs.argmax(1), probs.max(1)
    out = np.full((probs.shape[1], k), -1, dtype=np.int64)
    for c in range(probs.shape[1]):
        idx = np.flatnonzero((labels == c) & ((pred == c) if correct else (pred != c)))
        score = probs[idx, c] if correct else confidence[idx]
        chosen = idx[np.argsort(-score, kind="stable")][:k]
        out[c, :len(chosen)] = chosen
    return out


def confusion(y_true, y_pred, classes=10):
    return np.bincount(np.asarray(y_true) * classes + np.asarray(y_pred), minlength=classes * classes).reshape(classes, classes)


@pytest.mark.item("q1.1.architecture", points=5)
@pytest.mark.public(model("q1_cnn", (3, 96, 96), outputs=10))
def test_architecture(models):
    cnn = models["q1_cnn"]
    require(parameter_shapes(cnn) == SHAPES, f"q1_cnn's layers are not Table 1's (conv1 3->96 7x7, conv2 96->64 5x5, "
                                             f"conv3 64->128 3x3, fc1 1152->128, fc2 128->10); its parameter shapes "
                                             f"are {parameter_shapes(cnn)}")
    require(conv_strides(cnn) == [(2, 2)] * 3 and conv_paddings(cnn) == [(0, 0)] * 3,
            "Table 1's convolutions have stride 2 and no padding")
    require(uses_op(cnn, "max_pool2d"), "Table 1 pools with a max pool (3x3, stride 3) before fc1")


@pytest.mark.item("q1.1.param_count", points=2)
@pytest.mark.public(number("q1.params"))
def test_reported_parameter_count(check_param_count, credit):
    credit.say(check_param_count("q1"))


@pytest.mark.item("q1.1.accuracy", points=6)
@pytest.mark.public(model("q1_cnn", (3, 96, 96), outputs=10))
def test_accuracy(grade_accuracy, credit):
    grade_accuracy("q1_cnn", credit)


@pytest.mark.item("q1.1.curves", points=2)
@pytest.mark.public(model("q1_cnn", (3, 96, 96), outputs=10), arrays("q1_curves", train_loss=None, val_loss=None, train_acc=None, val_acc=None, test_acc=None), number("q1.epoch"), number("q1.test_acc"))
def test_curves_agree_with_the_model(check_curves):
    check_curves("q1")


@pytest.mark.item("q1.2.top_correct", points=3)
@pytest.mark.public(function("top_correct", full((20, 10), 0.1), [c % 10 for c in range(20)], 3, torch_args=True, shape=(10, 3)))
def test_top_correct(student_code):
    probs, labels = hidden_scores()
    for k in (5, 3):
        (out,) = student_code.call("top_correct", probs, labels, k, torch_args=True)
        out = expect_array(out, f"top_correct(probs, labels, {k})", shape=(10, k), kinds="iu")
        require(np.array_equal(out, reference_top(probs, labels, k, correct=True)),
                f"top_correct(probs, labels, {k}) does not give, per class, the correctly classified images with the "
                "highest scores, best first, padded with -1")


@pytest.mark.item("q1.3.top_wrong", points=3)
@pytest.mark.public(function("top_wrong", full((20, 10), 0.1), [c % 10 for c in range(20)], 3, torch_args=True, shape=(10, 3)))
def test_top_wrong(student_code):
    probs, labels = hidden_scores()
    for k in (5, 3):
        (out,) = student_code.call("top_wrong", probs, labels, k, torch_args=True)
        out = expect_array(out, f"top_wrong(probs, labels, {k})", shape=(10, k), kinds="iu")
        require(np.array_equal(out, reference_top(probs, labels, k, correct=False)),
                f"top_wrong(probs, labels, {k}) does not give, per true class, the misclassified images with the highest "
                "score of the predicted class, most confident first, padded with -1")


# the counts right with the true class in columns: the release states rows, so a fair TA takes off half
TRANSPOSED_SHARE = 0.5
TRANSPOSED_NOTE = ("the counts are right, but with the true class in columns; the release asks for rows the true "
                   "class, columns the predicted class: half the points")


@pytest.mark.item("q1.4.confusion_matrix", points=3)
@pytest.mark.public(function("confusion_matrix", [0, 1, 2, 1], [0, 2, 2, 1], 3, torch_args=True, shape=(3, 3)))
def test_confusion_matrix_function(student_code, credit):
    g = np.random.default_rng(HIDDEN_SEED)
    transposed = False
    for classes, n in ((10, 300), (4, 57)):
        y_true, y_pred = g.integers(0, classes, n), g.integers(0, classes, n)
        (out,) = student_code.call("confusion_matrix", y_true, y_pred, classes, torch_args=True)
        out = expect_array(out, f"confusion_matrix(y_true, y_pred, {classes})", shape=(classes, classes), kinds="iuf")
        expected = confusion(y_true, y_pred, classes)
        transposed |= not np.array_equal(out, expected) and np.array_equal(out.T, expected)
        require(np.array_equal(out, expected) or np.array_equal(out.T, expected),
                f"confusion_matrix(y_true, y_pred, {classes}) is not the counts with rows the true class and columns "
                "the predicted class")
    if transposed:
        credit.partial(TRANSPOSED_SHARE, f"confusion_matrix: {TRANSPOSED_NOTE}")


@pytest.mark.item("q1.4.test_matrix", points=3)
@pytest.mark.public(model("q1_cnn", (3, 96, 96), outputs=10), answer("q1.confusion_test"))
def test_reported_test_matrix(submission, models, stl_test, credit):
    reported = submission.answer("q1.confusion_test")
    try:
        reported = np.asarray(reported, dtype=float)
    except (TypeError, ValueError):
        raise BadArtifact("q1.confusion_test must be a 10 x 10 matrix of counts") from None
    require(reported.shape == (10, 10), f"q1.confusion_test must be 10 x 10, not {reported.shape}")
    X, y = stl_test
    expected = confusion(y.numpy(), predict(models["q1_cnn"].module(), X).numpy())
    allowed = 2 * max(2, int(np.ceil(0.005 * len(y))))   # a few predictions may flip between devices
    if np.abs(reported - expected).sum() > allowed and np.abs(reported.T - expected).sum() <= allowed:
        credit.partial(TRANSPOSED_SHARE, f"q1.confusion_test: {TRANSPOSED_NOTE}")
        return
    require(np.abs(reported - expected).sum() <= allowed,
            "q1.confusion_test is not q1_cnn's confusion matrix on the test split (rows: true class, columns: predicted)")
