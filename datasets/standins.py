"""Stand-ins for this course's datasets that cannot be had offline, named by datasets.toml's `standin`.
Each writes the real file format at the path the real loader reads and returns the paths it wrote;
`gradekit data synth` checks that no real file is overwritten and records the stand-in."""
from __future__ import annotations

from pathlib import Path

import numpy as np

SVHN_SIZES = {"train": 6000, "test": 2000}


def _render_digits(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """House-number-like crops: a centred digit with parts of neighbours, random colours, blur, noise."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    fonts = {size: ImageFont.load_default(size=size) for size in range(18, 29, 2)}
    images = np.empty((n, 32, 32, 3), np.uint8)
    labels = rng.integers(0, 10, n)
    for i, label in enumerate(labels):
        bg = rng.integers(0, 256, 3)
        fg = (bg + rng.integers(90, 166, 3) * rng.choice([-1, 1], 3)) % 256
        img = Image.new("RGB", (48, 32), tuple(int(c) for c in bg))
        draw = ImageDraw.Draw(img)
        font = fonts[int(rng.choice(list(fonts)))]
        neighbours = rng.integers(0, 10, 2)
        text = f"{neighbours[0]}{label}{neighbours[1]}"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        w, h = right - left, bottom - top
        x = 24 - w / 2 - left + rng.normal(0, 1.5)
        y = 16 - h / 2 - top + rng.normal(0, 1.5)
        draw.text((x, y), text, fill=tuple(int(c) for c in fg), font=font)
        img = img.crop((8, 0, 40, 32)).filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 1.0))))
        arr = np.asarray(img, np.float32) + rng.normal(0, 8, (32, 32, 3))
        images[i] = np.clip(arr, 0, 255).astype(np.uint8)
    return images, labels


def rendered_house_numbers(root: Path, dataset, seed: int = 0) -> list[str]:
    """SVHN's cropped-digit .mat files: X (32, 32, 3, N) uint8, y (N, 1) with label 10 for digit 0."""
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    written = []
    for split, n in SVHN_SIZES.items():
        rel = f"SVHN/{split}_32x32.mat"
        path = root / rel
        images, labels = _render_digits(n, rng)
        path.parent.mkdir(parents=True, exist_ok=True)
        savemat(path, {"X": images.transpose(1, 2, 3, 0), "y": np.where(labels == 0, 10, labels)[:, None].astype(np.uint8)})
        written.append(rel)
    return written
