"""What the ECE4179 2021 A3 graders share: the course split of STL10, recomputed from the files (never the
student's indices), the thresholds for the data the grading runs on, and the exported models."""
import numpy as np
import pytest
import torch

from gradekit.grading import Lazy

# "Well above chance" (10 %). On the rendered stand-in: measured, the solution's models score far above
# both tiers. On real STL10 these are proposals, not yet measured (no STL10 offline): fix them after the
# solution has run on the real set, and write the figures here.
STANDIN_TIERS = [(0.20, 0.5), (0.30, 1.0)]
REAL_TIERS = [(0.35, 0.5), (0.45, 1.0)]


CURVE_KEYS = ("train_loss", "val_loss", "train_acc", "val_acc", "test_acc")
AGREE_PP = 0.01


def course_split(labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per class, in file order (STL10's train file, then its test file): first 8/13 train, next 2/13
    validation, last 3/13 test."""
    parts = {"train": [], "val": [], "test": []}
    for c in range(10):
        idx = torch.nonzero(labels == c).flatten()
        a, b = len(idx) * 8 // 13, len(idx) * 10 // 13
        parts["train"].append(idx[:a]); parts["val"].append(idx[a:b]); parts["test"].append(idx[b:])
    return {k: torch.cat(v).sort().values for k, v in parts.items()}


@pytest.fixture(scope="session")
def stl_test(datasets):
    """(X, y): the course's test split as ToTensor() gives it, (N, 3, 96, 96) floats in [0, 1]."""
    train, test = datasets.load("stl10", split="train"), datasets.load("stl10", split="test")
    images = torch.from_numpy(np.concatenate([train.data, test.data]))
    labels = torch.from_numpy(np.concatenate([train.labels, test.labels]).astype(np.int64))
    idx = course_split(labels)["test"]
    return images[idx].float().div(255), labels[idx]


@pytest.fixture(scope="session")
def tiers(datasets):
    """(tiers, note): the thresholds for the data the graders have, and what the mark must say about it."""
    return (STANDIN_TIERS, datasets.smoke_note("stl10")) if datasets.is_standin("stl10") else (REAL_TIERS, "")


@pytest.fixture(scope="session")
def models(submission):
    return Lazy(submission.exported)


@pytest.fixture(scope="session")
def test_accuracy(models, stl_test):
    from gradekit.grading import accuracy

    return Lazy(lambda name: accuracy(models[name].module(), *stl_test))


@pytest.fixture(scope="session")
def check_curves(submission, test_accuracy):
    """check_curves("q1"): q1_curves, q1.epoch and q1.test_acc agree with q1_cnn (within one point)."""
    return lambda question: curves_agree(submission, test_accuracy, question)


def curves_agree(submission, test_accuracy, question: str) -> None:
    """The per-epoch arrays and the reported test accuracy of the picked epoch agree with the model."""
    from gradekit.grading import BadArtifact, require

    curves = submission.arrays(f"{question}_curves")
    absent = [k for k in CURVE_KEYS if k not in curves]
    if absent:
        raise BadArtifact(f"{question}_curves lacks {', '.join(absent)}")
    lengths = {len(np.ravel(curves[k])) for k in CURVE_KEYS}
    require(len(lengths) == 1 and min(lengths) >= 2, f"the arrays of {question}_curves must have one common length of at least 2")
    test_acc = np.ravel(curves["test_acc"]).astype(float)
    test_acc = test_acc / 100 if test_acc.max() > 1 else test_acc
    epoch, reported = submission.number(f"{question}.epoch"), submission.number(f"{question}.test_acc")
    reported = reported / 100 if reported > 1 else reported
    require(epoch == int(epoch) and 1 <= epoch <= len(test_acc), f"{question}.epoch must be an epoch of your curves")
    recomputed = test_accuracy[f"{question}_cnn"]
    require(abs(reported - recomputed) <= AGREE_PP and abs(test_acc[int(epoch) - 1] - recomputed) <= AGREE_PP,
            f"your test accuracy ({reported:.2%}; curve at epoch {int(epoch)}: {test_acc[int(epoch) - 1]:.2%}) is not "
            f"{question}_cnn's ({recomputed:.2%}, recomputed)")


@pytest.fixture(scope="session")
def grade_accuracy(test_accuracy, tiers):
    """grade_accuracy("q1_cnn", credit): the two tiers on the recomputed test accuracy, with the data's note."""
    def grade(name: str, credit) -> None:
        thresholds, note = tiers
        credit.tiers(test_accuracy[name], thresholds, f"test accuracy of {name} (recomputed)")
        credit.note += note
    return grade


@pytest.fixture(scope="session")
def check_param_count(submission):
    """check_param_count("q1"): q1.params is the number of parameters of the exported q1_cnn (or, when the
    model is missing, a count the notebook printed: graded alone). Returns the note for the item."""
    from gradekit.grading import reported_parameter_count

    def check(question: str) -> str:
        return reported_parameter_count(submission, f"{question}.params", f"{question}_cnn",
                                        f"{question}.params ({submission.number(f'{question}.params'):,.0f})")
    return check
