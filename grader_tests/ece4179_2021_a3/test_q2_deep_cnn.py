"""Q2: the deep CNN of four conv-blks (2.1), with augmentation (2.2), and a better design (2.3).

Figure 1 is missing; the block is Conv 3x3 s2 p1 -> ReLU -> Conv 1x1 -> ReLU -> Conv 3x3 s1 p1 -> ReLU (no
BatchNorm: Table 2 has none). Table 3's second "conv-blk3" (128 -> 192) is conv-blk4, as the text's
96 -> 48 -> 24 -> 12 -> 6 and the fc 192 -> 10 need. Parameters 11,200 + 59,584 + 237,952 + 590,400 + 1,930
= 901,066."""
import numpy as np
import pytest
from PIL import Image

from gradekit.grading import (conv_paddings, conv_strides, count_ops, expect_array, parameter_count, parameter_shapes,
                              require, uses_op)
from gradekit.grading.public import arrays, defined, model, number

WIDTHS = (3, 32, 64, 128, 192)
SPEC_PARAMETERS = 901_066
BETTER_MARGIN_PP = 0.01


def block_shapes(c_in, c_out):
    return [(c_out, c_in, 3, 3), (c_out,), (c_out, c_out, 1, 1), (c_out,), (c_out, c_out, 3, 3), (c_out,)]


SHAPES = [s for a, b in zip(WIDTHS, WIDTHS[1:]) for s in block_shapes(a, b)] + [(10, 192), (10,)]


@pytest.mark.item("q2.1.architecture", points=8)
@pytest.mark.public(model("q2_cnn", (3, 96, 96), outputs=10))
def test_architecture(models):
    cnn = models["q2_cnn"]
    shapes = parameter_shapes(cnn)
    require(shapes == SHAPES, "q2_cnn is not four conv-blks 3->32->64->128->192 (3x3, 1x1, 3x3 convolutions with biases) "
                              f"and fc 192->10; its parameter shapes are {shapes}")
    require(conv_strides(cnn) == [(2, 2), (1, 1), (1, 1)] * 4, "each conv-blk's strides must be 2, 1, 1 (Table 2)")
    require(conv_paddings(cnn) == [(1, 1), (0, 0), (1, 1)] * 4, "each conv-blk's paddings must be 1, 0, 1 (Table 2)")
    require(count_ops(cnn, "relu") == 12, f"q2_cnn must apply ReLU after each of its 12 convolutions "
                                          f"(found {count_ops(cnn, 'relu')})")
    require(any(uses_op(cnn, op) for op in ("mean", "adaptive_avg_pool2d", "avg_pool2d")),
            "q2_cnn must end with global average pooling before the fc layer")


@pytest.mark.item("q2.1.param_count", points=2)
@pytest.mark.public(number("q2.params"))
def test_reported_parameter_count(check_param_count, credit):
    credit.say(check_param_count("q2"))


@pytest.mark.item("q2.1.accuracy", points=8)
@pytest.mark.public(model("q2_cnn", (3, 96, 96), outputs=10))
def test_accuracy(grade_accuracy, credit):
    grade_accuracy("q2_cnn", credit)


@pytest.mark.item("q2.1.curves", points=2)
@pytest.mark.public(model("q2_cnn", (3, 96, 96), outputs=10), arrays("q2_curves", train_loss=None, val_loss=None, train_acc=None, val_acc=None, test_acc=None), number("q2.epoch"), number("q2.test_acc"))
def test_curves_agree_with_the_model(check_curves):
    check_curves("q2")


@pytest.mark.item("q2.2.accuracy", points=3)
@pytest.mark.public(model("q2_aug", (3, 96, 96), outputs=10))
def test_augmented_accuracy(grade_accuracy, credit):
    grade_accuracy("q2_aug", credit)


@pytest.mark.item("q2.2.train_transform", points=2)
@pytest.mark.public(defined("train_transform"))
def test_train_transform_is_random_and_gives_tensors(student_code):
    rng = np.random.default_rng(4179)
    gradient = np.linspace(0, 255, 96)[None, :, None] * np.ones((96, 1, 3))
    image = Image.fromarray(np.clip(gradient + rng.normal(0, 30, (96, 96, 3)), 0, 255).astype(np.uint8))
    outputs = student_code.call_repeatedly("train_transform", 4, image)
    for out in outputs:
        expect_array(out, "train_transform(image)")
        require(out.ndim == 3 and out.shape[0] == 3, f"train_transform(image) must return a (3, H, W) tensor, not {out.shape}")
    require(any(out.shape != outputs[0].shape or not np.array_equal(out, outputs[0]) for out in outputs[1:]),
            "train_transform gave the same tensor in four calls: it applies no random augmentation")


@pytest.mark.item("q2.3.better", points=4)
@pytest.mark.public(model("q2_better", (3, 96, 96), outputs=10), model("q2_cnn", (3, 96, 96), outputs=10))
def test_better_network(models, test_accuracy, credit):
    better, original = test_accuracy["q2_better"], test_accuracy["q2_cnn"]
    params = parameter_count(models["q2_better"])
    if better > original:
        credit.say(f"q2_better's test accuracy {better:.2%} beats your q2_cnn's {original:.2%}")
        return
    require(params < SPEC_PARAMETERS and better >= original - BETTER_MARGIN_PP,
            f"q2_better ({better:.2%}, {params:,} parameters) neither beats q2_cnn's test accuracy ({original:.2%}) nor "
            f"has fewer than {SPEC_PARAMETERS:,} parameters within one point of it")
    credit.say(f"q2_better: {params:,} parameters (< {SPEC_PARAMETERS:,}), test accuracy {better:.2%} vs q2_cnn {original:.2%}")
