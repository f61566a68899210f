"""Q2: the shallow MLP 784-32-10 trained with SGD, three selection rules, and a learning-rate drop.

Every classifier takes (N, 1, 28, 28) images in [0, 1] and returns 10 logits (the release says so).
Accuracies are fractions; a curve or table given in percent is rescaled (a TA reads either). A model is
"the one its rule picks" when its validation loss and accuracy, recomputed, are the curves' at that epoch:
the loss is the finer test (two epochs often share an accuracy to 0.1 pp, rarely a loss to 0.5 %). Measured on
the rebuilt file (SGD lr 0.1, batch 64, 30 epochs): the best-validation model scores about 86 % on test."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gradekit.grading import BadArtifact, item, parameter_shapes, require
from gradekit.grading.public import answer, arrays, mapping, model

SHAPES = [(32, 784), (32,), (10, 32), (10,)]
RULES = {"best_trainloss": ("train_loss", np.min), "best_valloss": ("val_loss", np.min), "best_valacc": ("val_acc", np.max)}
TIERS = [(0.80, 0.5), (0.84, 1.0)]
# a model recomputed on the validation set vs the student's curves at its epoch: accuracy within 10 images,
# mean cross-entropy within 0.5 % (a mean of batch means differs from the mean by far less)
SAME_MODEL_PP, SAME_MODEL_LOSS = 0.001, 0.005
TABLE_PP = 0.005          # the 0.5 percentage points for the reported test accuracies


@pytest.mark.item("q2.1.architecture", points=2)
@pytest.mark.public(model("q2_best_trainloss", (1, 28, 28), outputs=10), model("q2_best_valloss", (1, 28, 28), outputs=10), model("q2_best_valacc", (1, 28, 28), outputs=10))
def test_architecture(models):
    for rule in RULES:
        program = models[f"q2_{rule}"]
        require(parameter_shapes(program) == SHAPES,
                f"q2_{rule} must be fc1 Linear(784, 32) -> ReLU -> fc2 Linear(32, 10) with biases; its parameters have "
                f"shapes {parameter_shapes(program)}")


def validation_loss_and_accuracy(program, X, y) -> tuple[float, float]:
    try:
        with torch.no_grad():
            logits = torch.cat([program.module()(X[i:i + 2000]) for i in range(0, len(X), 2000)])
    except Exception as exc:
        raise BadArtifact(f"the model fails on (N, 1, 28, 28) images: {type(exc).__name__}: {str(exc)[:120]}") from None
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def same_loss(curve_value: float, recomputed: float, n: int) -> bool:
    """The curve's mean cross-entropy (or, read generously, its sum over the n images) is the model's."""
    return any(abs(curve_value - recomputed * scale) <= SAME_MODEL_LOSS * recomputed * scale for scale in (1, n))


@pytest.mark.item("q2.1.consistency", points=2)
@pytest.mark.public(model("q2_best_trainloss", (1, 28, 28), outputs=10), model("q2_best_valloss", (1, 28, 28), outputs=10), model("q2_best_valacc", (1, 28, 28), outputs=10), arrays("q2_curves", train_loss=None, val_loss=None, val_acc=None), mapping("q2.test_acc", RULES))
def test_models_are_the_selected_ones_and_the_table_is_theirs(submission, models, fashion_test_accuracy, fashion_val, curve):
    curves = submission.arrays("q2_curves")
    val_loss, val_acc = curve(curves, "val_loss", "q2_curves"), curve(curves, "val_acc", "q2_curves")
    table = submission.mapping("q2.test_acc", list(RULES))
    for rule, (key, best) in RULES.items():
        values = curve(curves, key, "q2_curves")
        require(len(values) == len(val_acc) == len(val_loss), "the arrays of q2_curves have different numbers of epochs")
        epochs = np.flatnonzero(values == best(values))          # a tie: any of its epochs
        loss, acc = validation_loss_and_accuracy(models[f"q2_{rule}"], *fashion_val)
        require(any(abs(val_acc[e] - acc) <= SAME_MODEL_PP and same_loss(val_loss[e], loss, len(fashion_val[1]))
                    for e in epochs),
                f"q2_{rule} is not the network of the epoch its rule picks from your curves (epoch {epochs[0] + 1}): "
                f"its validation loss and accuracy are {loss:.4f} and {acc:.2%}, your curves say "
                f"{val_loss[epochs[0]]:.4f} and {val_acc[epochs[0]]:.2%}")
        reported = table[rule] / 100 if table[rule] > 1 else table[rule]
        require(abs(reported - fashion_test_accuracy[f"q2_{rule}"]) <= TABLE_PP,
                f"your table's test accuracy for {rule} ({reported:.2%}) is not that of q2_{rule} "
                f"({fashion_test_accuracy[f'q2_{rule}']:.2%}, recomputed)")


@pytest.mark.item("q2.1.accuracy", points=2)
@pytest.mark.public(model("q2_best_valacc", (1, 28, 28), outputs=10))
def test_best_validation_model_accuracy(fashion_test_accuracy, credit):
    credit.tiers(fashion_test_accuracy["q2_best_valacc"], TIERS, "test accuracy of q2_best_valacc (recomputed)")


@pytest.mark.item("q2.2.lr_schedule", points=1)
@pytest.mark.public(answer("q2.lr_per_epoch"))
def test_learning_rate_is_constant_then_divided_by_ten(submission):
    lrs = submission.answer("q2.lr_per_epoch")
    require(isinstance(lrs, list) and len(lrs) >= 3 and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in lrs),
            "q2.lr_per_epoch must be a list of the positive learning rate of every epoch")
    steps = [(a, b) for a, b in zip(lrs, lrs[1:]) if not np.isclose(a, b, rtol=1e-9, atol=0)]
    require(steps, "q2.lr_per_epoch never changes: the learning rate must drop by 10x at least once")
    require(all(np.isclose(a / b, 10, rtol=1e-6) for a, b in steps),
            "every change in q2.lr_per_epoch must divide the learning rate by exactly 10")
    require(np.isclose(lrs[0], lrs[1], rtol=1e-9), "the learning rate must first stay fixed for some epochs")
