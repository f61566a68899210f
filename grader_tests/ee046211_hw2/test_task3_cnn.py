"""Task 3: the SVHN CNN. Accuracy and the noise test are recomputed from the exported model on the
grader's copy of the test split; the printed parameter count must equal the model's own.

On the smoke profile's stand-in SVHN (rendered digits in SVHN's .mat format) the same thresholds are
applied: the stand-in supports them (the solution's narrow smoke CNN scores well above 90 % on it),
and every reason and the mark sheet say these are smoke marks."""
import pytest
import torch

from gradekit.grading.checks import accuracy, reported_parameter_count, require, uses_op
from gradekit.grading.public import mapping, model, number

TIERS = [(0.86, 0.5), (0.90, 1.0)]      # spec: 86 % for half, 90 % for full marks
NOISE_LEVELS = ("0.05", "0.01", "0.005")
NOISE_SEED = 90210                      # the grader's own noise, not the notebook's
REPORT_TOLERANCE = {"real": 0.01, "standin": 0.02}  # the stand-in's test split is small (2,000)


@pytest.fixture(scope="module")
def svhn_provenance(provenance):
    return provenance("svhn")


@pytest.fixture(scope="module")
def svhn_test(test_split):
    return test_split("svhn")


@pytest.fixture(scope="module")
def data_note(svhn_provenance):
    return " [stand-in SVHN: smoke mark]" if svhn_provenance == "standin" else ""


@pytest.fixture(scope="module")
def cnn(submission):
    return submission.exported("task3_cnn")


@pytest.fixture(scope="module")
def cnn_accuracy(cnn, svhn_test):
    return accuracy(cnn.module(), *svhn_test)


@pytest.mark.item("task3.param_count", points=3)
@pytest.mark.public(number("task3.param_count"))
def test_param_count(submission, credit):
    """The count is the evidence; the model, when there is one, is what it is checked against: a count the
    release's own line printed from a model whose training later failed keeps its points, as a TA reading
    the notebook would give them."""
    if submission.submitted("model", "task3_cnn"):
        require(uses_op(submission.exported("task3_cnn"), "conv"), "task3_cnn has no convolution: it is not a CNN")
    credit.say(reported_parameter_count(submission, "task3.param_count", "task3_cnn"))


@pytest.mark.item("task3.accuracy", points=15)
@pytest.mark.public(model("task3_cnn", (3, 32, 32), outputs=10))
def test_accuracy(cnn_accuracy, credit, data_note):
    credit.tiers(cnn_accuracy, TIERS, "test accuracy of task3_cnn (recomputed)")
    credit.note += data_note


@pytest.mark.item("task3.noise", points=5)
@pytest.mark.public(mapping("task3.noise_accuracy", NOISE_LEVELS))
def test_noise(submission, cnn, svhn_test, svhn_provenance, data_note, credit):
    reported = submission.answer("task3.noise_accuracy")
    require(isinstance(reported, dict) and set(NOISE_LEVELS) <= set(reported),
            f"task3.noise_accuracy must be a dict with keys {', '.join(NOISE_LEVELS)}")
    X, y = svhn_test
    generator = torch.Generator().manual_seed(NOISE_SEED)
    tolerance = REPORT_TOLERANCE.get(svhn_provenance, 0.01)
    for level in NOISE_LEVELS:
        value = reported[level]
        require(isinstance(value, (int, float)) and not isinstance(value, bool), f"noise accuracy for a={level} is not a number")
        recomputed = accuracy(cnn.module(), X + float(level) * torch.randn(X.shape, generator=generator), y)
        require(abs(value - recomputed) <= tolerance,
                f"accuracy with noise a={level}: reported {value:.4f}, the model scores {recomputed:.4f}")
    credit.say("noise accuracies match the model" + data_note)


@pytest.mark.item("task3.augmented", points=5)
@pytest.mark.public(model("task3_cnn_aug", (3, 32, 32), outputs=10), number("task3.aug_accuracy"))
def test_augmented(submission, svhn_test, svhn_provenance, data_note, credit):
    acc = accuracy(submission.model("task3_cnn_aug"), *svhn_test)
    reported = submission.number("task3.aug_accuracy")
    require(abs(reported - acc) <= REPORT_TOLERANCE.get(svhn_provenance, 0.01),
            f"the reported accuracy with augmentation {reported:.4f} is not what task3_cnn_aug scores ({acc:.4f})")
    credit.tiers(acc, [(TIERS[0][0], 1.0)], "test accuracy of task3_cnn_aug (recomputed)")
    credit.note += data_note
