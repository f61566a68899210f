"""Q3: occlusion_map(model, image, p, s, target) on a small model and images the students never saw.

The definition is the one the ECE4179 2022 A2 grader checks (gradekit.grading.reference_occlusion_map),
with the class given: the softmax score of `target` (the image's true label, as Zeiler and Fergus plot the
correct class) while a p x p patch at stride s is zero in the model's input. Every case's target is a class
the model does not predict for the whole image, so scoring the predicted class instead is caught."""
import numpy as np
import pytest
import torch

from gradekit.grading import expect_array, reference_occlusion_map, require, small_exported_cnn
from gradekit.grading.public import defined

HIDDEN_SEED = 3179
CASES = [((3, 20, 20), 6, 3), ((3, 24, 16), 4, 4), ((3, 18, 22), 5, 2)]   # image shape, p, s


@pytest.fixture(scope="module")
def hidden_model():
    return small_exported_cnn(HIDDEN_SEED, classes=5)


@pytest.mark.item("q3.occlusion", points=8)
@pytest.mark.public(defined("occlusion_map"))
def test_occlusion_map(student_code, hidden_model):
    net, program = hidden_model
    generator = torch.Generator().manual_seed(HIDDEN_SEED)
    for shape, p, s in CASES:
        image = torch.rand(shape, generator=generator)
        with torch.no_grad():
            target = int(net(image[None]).argsort(1, descending=True)[0, 1])   # the runner-up class
        expected = reference_occlusion_map(net, image, p, s, target)
        what = f"occlusion_map on a {shape[1]}x{shape[2]} image with p={p}, s={s} and a given target"
        (heat,) = student_code.call("occlusion_map", program, image.numpy(), p, s, target, torch_args=True)
        heat = expect_array(heat, what, shape=expected.shape)
        require(np.allclose(heat, expected, atol=1e-4), f"{what} differs from the definition (the score of the target class)")
