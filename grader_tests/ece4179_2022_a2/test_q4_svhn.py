"""Q4: the MLP of Table 4 and the CNN of Tables 5-6, checked from the exported programs.

fc1's 1152 inputs = 128 x 3 x 3 only add up with AdaptiveAvgPool2d((3, 3)) after the two blocks (32 -> 30
-> 28 spatially); AvgPool2d(3) would give 128 x 9 x 9 = 10368. We grade that reading (271,690 parameters).
On the stand-in SVHN the accuracy thresholds are the same and the marks say they are smoke marks."""
import pytest

from gradekit.grading.checks import (accuracy, conv_paddings, parameter_shapes, reported_parameter_count,
                                     require, uses_op)
from gradekit.grading.public import model, number

MLP_SHAPES = [(256, 3072), (256,), (64, 256), (64,), (10, 64), (10,)]
CNN_SHAPES = [(64, 3, 3, 3), (64,), (64, 64, 3, 3), (64,), (128, 64, 3, 3), (128,), (128, 128, 3, 3), (128,), (10, 1152), (10,)]
CNN_PADDINGS = [(0, 0), (1, 1), (0, 0), (1, 1)]   # Table 5: Conv1 padding 0, Conv2 padding 1, in each block
TIERS = [(0.2, 0.5), (0.3, 1.0)]                  # "well above chance" (10 %): 2x chance for half, 3x for full


@pytest.fixture(scope="module")
def note(provenance):
    return " [stand-in SVHN: smoke mark]" if provenance("svhn") == "standin" else ""


@pytest.fixture(scope="module")
def models(submission):
    return submission.exported("q4_mlp"), submission.exported("q4_cnn")


@pytest.fixture(scope="module")
def accuracies(models, test_split):
    return tuple(accuracy(m.module(), *test_split("svhn")) for m in models)


@pytest.mark.item("q4.mlp_architecture", points=5)
@pytest.mark.public(model("q4_mlp", (3, 32, 32), outputs=10))
def test_mlp_architecture(models):
    mlp = models[0]
    require(parameter_shapes(mlp) == MLP_SHAPES, "the MLP is not 3072 -> 256 -> 64 -> 10 with biases (Table 4)")
    require(not uses_op(mlp, "conv"), "the MLP must not use convolutions")


@pytest.mark.item("q4.cnn_architecture", points=5)
@pytest.mark.public(model("q4_cnn", (3, 32, 32), outputs=10))
def test_cnn_architecture(models):
    cnn = models[1]
    shapes = parameter_shapes(cnn)
    require([s for s in shapes if len(s) == 4] == [s for s in CNN_SHAPES if len(s) == 4],
            "the convolutions are not those of Tables 5-6 (3 -> 64 -> 64, 64 -> 128 -> 128, 3x3 kernels)")
    require(shapes == CNN_SHAPES, f"fc1 must take 1152 = 128 x 3 x 3 inputs (pooling to 3x3); its weight is "
                                  f"{[s for s in shapes if len(s) == 2]}")
    require(conv_paddings(cnn) == CNN_PADDINGS, "the paddings are not Table 5's (Conv1: 0, Conv2: 1)")


@pytest.mark.item("q4.param_counts", points=3)
@pytest.mark.public(number("q4.mlp_params"), number("q4.cnn_params"))
def test_reported_parameter_counts(submission, credit):
    notes = [reported_parameter_count(submission, f"q4.{name}_params", f"q4_{name}",
                                      f"the reported {name.upper()} parameter count {submission.number(f'q4.{name}_params'):,.0f}")
             for name in ("mlp", "cnn")]
    credit.say("; ".join(n for n in notes if n))


@pytest.mark.item("q4.mlp_accuracy", points=4)
@pytest.mark.public(model("q4_mlp", (3, 32, 32), outputs=10))
def test_mlp_accuracy(accuracies, credit, note):
    credit.tiers(accuracies[0], TIERS, "test accuracy of q4_mlp (recomputed)")
    credit.note += note


@pytest.mark.item("q4.cnn_accuracy", points=4)
@pytest.mark.public(model("q4_cnn", (3, 32, 32), outputs=10))
def test_cnn_accuracy(accuracies, credit, note):
    credit.tiers(accuracies[1], TIERS, "test accuracy of q4_cnn (recomputed)")
    credit.note += note


@pytest.mark.item("q4.cnn_beats_mlp", points=3)
@pytest.mark.public(model("q4_mlp", (3, 32, 32), outputs=10), model("q4_cnn", (3, 32, 32), outputs=10))
def test_cnn_beats_mlp(accuracies, credit, note):
    mlp, cnn = accuracies
    require(cnn > mlp, f"the CNN ({cnn:.2%}) does not beat the MLP ({mlp:.2%})")
    credit.say(f"CNN {cnn:.2%} > MLP {mlp:.2%}{note}")
