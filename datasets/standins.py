"""Stand-ins for this course's datasets that cannot be had offline, named by datasets.toml's `standin`.
Each writes the real file format at the path the real loader reads and returns the paths it wrote;
`gradekit data synth` checks that no real file is overwritten and records the stand-in."""
from __future__ import annotations

import colorsys
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


STL10_CLASSES = ("airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck")
STL10_PER_CLASS = {"train": 50, "test": 80}   # 1/10 of STL10's 500 and 800: the 8/13-2/13-3/13 split still holds


def _stl10_object(draw, label: int, cx: float, cy: float, s: float, colour: tuple, rng: np.random.Generator) -> None:
    """A class-specific silhouette (a cartoon of the class) centred at (cx, cy), of size s."""
    def box(x0, y0, x1, y1):
        return [cx + x0 * s, cy + y0 * s, cx + x1 * s, cy + y1 * s]

    c = colour
    if label == 0:    # airplane: fuselage and swept wings
        draw.rectangle(box(-0.9, -0.1, 0.9, 0.1), fill=c)
        draw.polygon([(cx - 0.1 * s, cy), (cx - 0.5 * s, cy - 0.8 * s), (cx + 0.2 * s, cy)], fill=c)
        draw.polygon([(cx - 0.1 * s, cy), (cx - 0.5 * s, cy + 0.8 * s), (cx + 0.2 * s, cy)], fill=c)
    elif label == 1:  # bird: body, head, beak
        draw.ellipse(box(-0.6, -0.3, 0.4, 0.3), fill=c)
        draw.ellipse(box(0.2, -0.5, 0.6, -0.1), fill=c)
        draw.polygon([(cx + 0.6 * s, cy - 0.35 * s), (cx + 0.9 * s, cy - 0.3 * s), (cx + 0.6 * s, cy - 0.2 * s)], fill=(255, 200, 0))
    elif label == 2:  # car: body, cabin, two wheels
        draw.rectangle(box(-0.9, -0.1, 0.9, 0.35), fill=c)
        draw.rectangle(box(-0.45, -0.45, 0.4, -0.1), fill=c)
        for x in (-0.55, 0.55):
            draw.ellipse(box(x - 0.2, 0.25, x + 0.2, 0.65), fill=(20, 20, 20))
    elif label == 3:  # cat: round face with pointed ears and eyes
        draw.ellipse(box(-0.55, -0.45, 0.55, 0.6), fill=c)
        for sign in (-1, 1):
            draw.polygon([(cx + sign * 0.5 * s, cy - 0.2 * s), (cx + sign * 0.45 * s, cy - 0.85 * s), (cx + sign * 0.1 * s, cy - 0.4 * s)], fill=c)
            draw.ellipse(box(sign * 0.25 - 0.08, -0.05, sign * 0.25 + 0.08, 0.1), fill=(30, 200, 30))
    elif label == 4:  # deer: body on thin legs, antlers
        draw.ellipse(box(-0.6, -0.3, 0.5, 0.15), fill=c)
        for x in (-0.45, -0.3, 0.25, 0.4):
            draw.line(box(x, 0.05, x, 0.8), fill=c, width=max(1, int(s * 0.06)))
        draw.line(box(0.45, -0.2, 0.6, -0.8), fill=c, width=max(1, int(s * 0.05)))
        draw.line(box(0.55, -0.6, 0.85, -0.8), fill=c, width=max(1, int(s * 0.05)))
    elif label == 5:  # dog: long body, head with floppy ear, tail
        draw.rectangle(box(-0.6, -0.2, 0.4, 0.2), fill=c)
        draw.ellipse(box(0.3, -0.55, 0.8, -0.05), fill=c)
        draw.rectangle(box(0.35, -0.4, 0.45, 0.0), fill=(60, 40, 20))
        for x in (-0.5, 0.3):
            draw.rectangle(box(x - 0.06, 0.2, x + 0.06, 0.6), fill=c)
        draw.line(box(-0.6, -0.1, -0.85, -0.45), fill=c, width=max(1, int(s * 0.06)))
    elif label == 6:  # horse: body, long neck and head, mane
        draw.ellipse(box(-0.65, -0.25, 0.35, 0.2), fill=c)
        draw.polygon([(cx + 0.2 * s, cy - 0.1 * s), (cx + 0.55 * s, cy - 0.8 * s), (cx + 0.75 * s, cy - 0.7 * s), (cx + 0.35 * s, cy + 0.05 * s)], fill=c)
        for x in (-0.5, -0.35, 0.1, 0.25):
            draw.rectangle(box(x - 0.04, 0.1, x + 0.04, 0.85), fill=c)
    elif label == 7:  # monkey: face with a pale muzzle, big ears
        for sign in (-1, 1):
            draw.ellipse(box(sign * 0.55 - 0.2, -0.2, sign * 0.55 + 0.2, 0.2), fill=c)
        draw.ellipse(box(-0.45, -0.5, 0.45, 0.5), fill=c)
        draw.ellipse(box(-0.3, -0.05, 0.3, 0.4), fill=(230, 190, 150))
    elif label == 8:  # ship: hull, mast and sail over a water line
        draw.polygon([(cx - 0.9 * s, cy + 0.1 * s), (cx + 0.9 * s, cy + 0.1 * s), (cx + 0.6 * s, cy + 0.45 * s), (cx - 0.6 * s, cy + 0.45 * s)], fill=c)
        draw.line(box(0.0, 0.1, 0.0, -0.85), fill=(40, 40, 40), width=max(1, int(s * 0.05)))
        draw.polygon([(cx + 0.05 * s, cy - 0.8 * s), (cx + 0.6 * s, cy), (cx + 0.05 * s, cy)], fill=(240, 240, 240))
    else:             # truck: cab and long box on three wheels
        draw.rectangle(box(-0.9, -0.5, 0.35, 0.3), fill=c)
        draw.rectangle(box(0.35, -0.2, 0.85, 0.3), fill=tuple(int(v * 0.7) for v in c))
        for x in (-0.65, -0.2, 0.6):
            draw.ellipse(box(x - 0.15, 0.2, x + 0.15, 0.5), fill=(20, 20, 20))


def _render_stl10(label: int, rng: np.random.Generator) -> np.ndarray:
    """A 96x96 RGB image: a textured background and the class's silhouette, random size, place and colour."""
    from PIL import Image, ImageDraw, ImageFilter

    top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    ramp = np.linspace(0, 1, 96)[:, None, None]
    background = top * (1 - ramp) + bottom * ramp + rng.normal(0, 12, (96, 96, 3))
    img = Image.fromarray(np.clip(background, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    s = float(rng.uniform(26, 38))
    cx, cy = rng.uniform(36, 60, 2)
    # the object's hue depends on the class (as sky, water and fur colours do in STL10), so a small network
    # learns the stand-in within a few CPU epochs; shape, size, place and background still vary
    hue = (label / 10 + rng.uniform(-0.03, 0.03)) % 1.0
    colour = tuple(int(255 * v) for v in colorsys.hsv_to_rgb(hue, rng.uniform(0.6, 1.0), rng.uniform(0.55, 1.0)))
    _stl10_object(draw, label, float(cx), float(cy), s, colour, rng)
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 1.2))))
    return np.clip(np.asarray(img, np.float32) + rng.normal(0, 6, (96, 96, 3)), 0, 255).astype(np.uint8)


def rendered_stl10(root: Path, dataset, seed: int = 0) -> list[str]:
    """STL10's binary files under stl10_binary/: {train,test}_X.bin (N, 3, 96, 96) uint8, each channel stored
    column-major as the real files are; {train,test}_y.bin labels 1..10; class_names.txt; fold_indices.txt.
    Classes in file order, shuffled as STL10's are. No unlabeled_X.bin (no assignment uses split="unlabeled")."""
    rng = np.random.default_rng(seed)
    folder = root / "stl10_binary"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for split, per_class in STL10_PER_CLASS.items():
        labels = rng.permutation(np.repeat(np.arange(10), per_class))
        images = np.stack([_render_stl10(int(label), rng) for label in labels])          # (N, 96, 96, 3)
        (folder / f"{split}_X.bin").write_bytes(images.transpose(0, 3, 2, 1).tobytes())  # (N, C, W, H): column-major
        (folder / f"{split}_y.bin").write_bytes((labels + 1).astype(np.uint8).tobytes())
        written += [f"stl10_binary/{split}_X.bin", f"stl10_binary/{split}_y.bin"]
    (folder / "class_names.txt").write_text("\n".join(STL10_CLASSES) + "\n")
    n_train = 10 * STL10_PER_CLASS["train"]
    folds = [" ".join(map(str, rng.permutation(n_train)[: n_train // 5])) for _ in range(10)]
    (folder / "fold_indices.txt").write_text("\n".join(folds) + "\n")
    return written + ["stl10_binary/class_names.txt", "stl10_binary/fold_indices.txt"]


EMNIST_LETTERS_PER_CLASS = {"train": 480, "test": 80}   # 1/10 of EMNIST letters' 4,800 and 800


def _render_letter(label: int, rng: np.random.Generator, fonts: dict) -> np.ndarray:
    """A 28x28 glyph of letter `label` (1 = a/A), upper or lower case as EMNIST letters mixes them: white
    on black, random size, shift, slant and stroke blur."""
    from PIL import Image, ImageDraw, ImageFilter

    char = chr(ord("a") + label - 1)
    char = char.upper() if rng.random() < 0.5 else char
    img = Image.new("L", (40, 40), 0)
    draw = ImageDraw.Draw(img)
    font = fonts[int(rng.choice(list(fonts)))]
    left, top, right, bottom = draw.textbbox((0, 0), char, font=font)
    draw.text((20 - (right - left) / 2 - left + rng.normal(0, 1.2), 20 - (bottom - top) / 2 - top + rng.normal(0, 1.2)),
              char, fill=255, font=font, stroke_width=int(rng.integers(0, 2)), stroke_fill=255)
    img = img.rotate(float(rng.normal(0, 8)), resample=Image.Resampling.BILINEAR)
    img = img.crop((6, 6, 34, 34)).filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 0.9))))
    return np.asarray(img, np.uint8)


def _idx(array: np.ndarray) -> bytes:
    """The idx format torchvision's MNIST family reads: magic (0, 0, 8 = uint8, ndim), big-endian sizes, data."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def rendered_letters(root: Path, dataset, seed: int = 0) -> list[str]:
    """EMNIST letters as torchvision's EMNIST reads them after its download: uncompressed idx files
    EMNIST/raw/emnist-letters-{train,test}-{images-idx3,labels-idx1}-ubyte, labels 1..26, each glyph stored
    transposed as in the real files (shown upright with .T)."""
    from PIL import ImageFont

    rng = np.random.default_rng(seed)
    fonts = {size: ImageFont.load_default(size=size) for size in range(16, 25, 2)}
    folder = root / "EMNIST" / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for split, per_class in EMNIST_LETTERS_PER_CLASS.items():
        labels = rng.permutation(np.repeat(np.arange(1, 27), per_class))
        images = np.stack([_render_letter(int(label), rng, fonts).T for label in labels])
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            rel = f"EMNIST/raw/emnist-letters-{split}-{kind}-ubyte"
            (root / rel).write_bytes(_idx(array))
            written.append(rel)
    return written
