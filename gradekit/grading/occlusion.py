"""Occlusion sensitivity (Zeiler and Fergus 2014, section 4.2) as graders check it: the reference map and
a small CNN, unseen by students, to call their function on."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def reference_occlusion_map(net, image: torch.Tensor, p: int, s: int, target: int | None = None) -> np.ndarray:
    """Zero a p x p patch at stride s in the model's input (C, H, W) and record the softmax score of
    `target` (the class the unoccluded image is given as, or, when None, the class predicted for it).
    Shape ((H - p) // s + 1, (W - p) // s + 1); row r, column c is the patch at (r * s, c * s)."""
    with torch.no_grad():
        if target is None:
            target = net(image[None]).argmax(1).item()
        _, H, W = image.shape
        out = torch.empty((H - p) // s + 1, (W - p) // s + 1)
        for r in range(out.shape[0]):
            for c in range(out.shape[1]):
                occluded = image.clone()
                occluded[:, r * s:r * s + p, c * s:c * s + p] = 0
                out[r, c] = F.softmax(net(occluded[None]), 1)[0, target]
    return out.numpy()


def small_exported_cnn(seed: int, classes: int = 5, channels: int = 3, max_side: int = 128):
    """(module, torch.export program) of a small random CNN that takes any image from 8 x 8 to max_side."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(channels, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 8, 3, padding=1),
                        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, classes)).eval()
    side = {2: torch.export.Dim("h", min=8, max=max_side), 3: torch.export.Dim("w", min=8, max=max_side)}
    program = torch.export.export(net, (torch.randn(2, channels, 20, 20),),
                                  dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096), **side},))
    return net, program
