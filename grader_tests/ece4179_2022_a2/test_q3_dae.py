"""Q3: the denoising autoencoder, checked from the exported model on the real MNIST test set with the
grader's own noise (same level as the notebook's: x + 0.3 * randn, no clipping)."""
import pytest
import torch
import torch.nn.functional as F

from gradekit.grading.checks import parameter_shapes, require
from gradekit.grading.failures import BadArtifact
from gradekit.grading.public import model

NOISE_STD = 0.3
NOISE_SEED = 31337
TIERS = [(1 / 0.75, 0.5), (1 / 0.5, 1.0)]  # how many times closer to the clean image than the noisy input


@pytest.fixture(scope="module")
def dae(submission):
    return submission.exported("q3_dae")


@pytest.mark.item("q3.encoder", points=3)
@pytest.mark.public(model("q3_dae", (1, 28, 28), outputs=784))
def test_encoder_has_one_layer_of_128(dae):
    shapes = parameter_shapes(dae)
    from_pixels = [s for s in shapes if len(s) == 2 and s[1] == 784]
    require(from_pixels == [(128, 784)], f"the encoder must be one layer 784 -> 128; layers reading the 784 pixels: {from_pixels}")


@pytest.mark.item("q3.denoising", points=7)
@pytest.mark.public(model("q3_dae", (1, 28, 28), outputs=784))
def test_output_is_much_closer_to_the_clean_images(dae, test_split, credit):
    clean = test_split("mnist")[0]
    noisy = clean + NOISE_STD * torch.randn(clean.shape, generator=torch.Generator().manual_seed(NOISE_SEED))
    module = dae.module()
    with torch.no_grad():
        out = torch.cat([module(noisy[i:i + 1000]) for i in range(0, len(noisy), 1000)])
    if out.numel() != clean.numel():
        raise BadArtifact(f"the DAE must return one 28x28 image per input, got shape {tuple(out.shape[1:])}")
    ratio = F.mse_loss(noisy, clean).item() / max(F.mse_loss(out.view_as(clean), clean).item(), 1e-12)
    credit.tiers(ratio, TIERS, "on MNIST test with the grader's noise, the output's MSE to the clean images is "
                 "smaller than the noisy input's by a factor of", fmt="{:.2f}")
