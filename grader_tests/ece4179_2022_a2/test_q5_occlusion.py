"""Q5: the student's occlusion_map, called in a sandbox on a small model and images it never saw, against
the spec's definition: zero a p x p patch at stride s in the model's input, record the softmax score of
the class predicted for the unoccluded image. The heatmaps of the photos are a manual item."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from gradekit.grading.checks import require
from gradekit.grading.student_code import expect_array

HIDDEN_SEED = 5179
CASES = [((3, 20, 20), 6, 3), ((3, 20, 20), 5, 5), ((3, 20, 16), 4, 4)]  # image shape, p, s


@pytest.fixture(scope="module")
def hidden_model():
    torch.manual_seed(HIDDEN_SEED)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 8, 3, padding=1),
                        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5)).eval()
    batch = torch.export.Dim("batch", min=1, max=4096)
    program = torch.export.export(net, (torch.randn(2, 3, 20, 20),), dynamic_shapes=({0: batch, 2: torch.export.Dim("h", min=8, max=64), 3: torch.export.Dim("w", min=8, max=64)},))
    return net, program


def reference(net, image, p, s):
    with torch.no_grad():
        top = net(image[None]).argmax(1).item()
        _, H, W = image.shape
        out = torch.empty((H - p) // s + 1, (W - p) // s + 1)
        for r in range(out.shape[0]):
            for c in range(out.shape[1]):
                occluded = image.clone()
                occluded[:, r * s:r * s + p, c * s:c * s + p] = 0
                out[r, c] = F.softmax(net(occluded[None]), 1)[0, top]
    return out.numpy()


@pytest.mark.item("q5.occlusion", points=9)
def test_occlusion_map(student_code, hidden_model):
    net, program = hidden_model
    generator = torch.Generator().manual_seed(HIDDEN_SEED)
    for shape, p, s in CASES:
        image = torch.randn(shape, generator=generator)
        expected = reference(net, image, p, s)
        (heat,) = student_code.call("occlusion_map", program, image.numpy(), p, s, torch_args=True)
        heat = expect_array(heat, f"occlusion_map on a {shape[1]}x{shape[2]} image with p={p}, s={s}", shape=expected.shape)
        require(np.allclose(heat, expected, atol=1e-4),
                f"occlusion_map on a {shape[1]}x{shape[2]} image with p={p}, s={s} differs from the definition")
