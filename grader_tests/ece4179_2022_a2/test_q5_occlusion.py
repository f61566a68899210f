"""Q5: the student's occlusion_map, called in a sandbox on a small model and images it never saw, against
the spec's definition: zero a p x p patch at stride s in the model's input, record the softmax score of
the class predicted for the unoccluded image. The heatmaps of the photos are a manual item."""
import numpy as np
import pytest
import torch

from gradekit.grading import expect_array, reference_occlusion_map, require, small_exported_cnn
from gradekit.grading.public import defined

HIDDEN_SEED = 5179
CASES = [((3, 20, 20), 6, 3), ((3, 20, 20), 5, 5), ((3, 20, 16), 4, 4)]  # image shape, p, s


@pytest.fixture(scope="module")
def hidden_model():
    return small_exported_cnn(HIDDEN_SEED, max_side=64)


@pytest.mark.item("q5.occlusion", points=9)
@pytest.mark.public(defined("occlusion_map"))
def test_occlusion_map(student_code, hidden_model):
    net, program = hidden_model
    generator = torch.Generator().manual_seed(HIDDEN_SEED)
    for shape, p, s in CASES:
        image = torch.randn(shape, generator=generator)
        expected = reference_occlusion_map(net, image, p, s)   # the class predicted for the whole image
        (heat,) = student_code.call("occlusion_map", program, image.numpy(), p, s, torch_args=True)
        heat = expect_array(heat, f"occlusion_map on a {shape[1]}x{shape[2]} image with p={p}, s={s}", shape=expected.shape)
        require(np.allclose(heat, expected, atol=1e-4),
                f"occlusion_map on a {shape[1]}x{shape[2]} image with p={p}, s={s} differs from the definition")
