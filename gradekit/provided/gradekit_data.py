"""Load the assignment's datasets from DATA_ROOT. Provided with the assignment (the runner keeps it pristine).

    from gradekit_data import load_dataset, load_pretrained, dataset_path
    train = load_dataset("SVHN", DATA_ROOT, split="train", transform=T.ToTensor())
    model = load_pretrained("resnet18", DATA_ROOT)
    faces = dataset_path("faces", DATA_ROOT)          # a folder or file dataset: where it is
    X, y = as_tensors(train, DEVICE)                   # the whole set on the GPU once (it fits: MNIST-sized sets)
    for xb, yb in batches(X, y, 128, generator=g):     # then batches are slices there, no loader per epoch

Names are those of the assignment's dataset manifest (gradekit_datasets.json, beside this file), or a
torchvision class name. This is torchvision's own loader: on a machine with internet it downloads as
usual. On the kit's smoke profile a dataset that cannot be had offline is a small *stand-in* written by
`gradekit data synth` in the real file format; it is listed in DATA_ROOT/STANDINS.json with its own
checksums, and loading it says so loudly. Only torchvision's checksum of the real file is skipped for a
stand-in; the parser is the same.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

STANDINS_FILE = "STANDINS.json"
MANIFEST_FILE = "gradekit_datasets.json"


_override: dict | None = None


def use_manifest(entries: dict | None) -> None:
    """Use these entries instead of the file beside this helper (the graders' process does)."""
    global _override
    _override = entries


def manifest() -> dict:
    if _override is not None:
        return _override
    path = Path(__file__).with_name(MANIFEST_FILE)
    return json.loads(path.read_text()) if path.exists() else {}


def _declared(name: str) -> tuple[str, dict]:
    """(declared name, entry) for a declared name, any case, or the torchvision class / model it loads."""
    entries = manifest()
    for key, entry in entries.items():
        if name.lower() == key.lower() or name in (entry.get("loader"), entry.get("model")):
            return key, entry
    return name, {}


def standins(root) -> dict:
    path = Path(root) / STANDINS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def is_standin(name: str, root) -> bool:
    return _declared(name)[0] in standins(root)


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _standin(name: str, root: Path) -> dict | None:
    """The stand-in's entry, after checking its files against STANDINS.json; None for real data."""
    entry = standins(root).get(name)
    if entry is None:
        return None
    for rel, expected in entry["files"].items():
        if md5(root / rel) != expected:
            raise RuntimeError(f"stand-in file {root / rel} does not match STANDINS.json; re-run `gradekit data synth`")
    warnings.warn(f"{name} under {root} is a STAND-IN made by `gradekit data synth` ({entry.get('kind', '')}); "
                  "results on it are not comparable with the real dataset", stacklevel=3)
    return entry


def load_dataset(name: str, root, download: bool = True, **kwargs):
    """The torchvision dataset `name` under DATA_ROOT, with torchvision's own arguments."""
    import torchvision

    key, entry = _declared(name)
    cls = getattr(torchvision.datasets, entry.get("loader") or name)
    root = Path(root)
    folder = root / entry.get("root", "")
    if _standin(key, root) is None:
        return cls(str(folder), download=download, **kwargs)
    standin_cls = type(cls.__name__, (cls,), {"_check_integrity": lambda self: True})
    return standin_cls(str(folder), download=False, **kwargs)


def dataset_path(name: str, root) -> Path:
    """Where a folder or file dataset lies under DATA_ROOT (its folder, or its only file)."""
    key, entry = _declared(name)
    _standin(key, Path(root))
    if entry.get("path"):
        return Path(root) / entry["path"]
    files = entry.get("files") or []
    if len(files) == 1:
        return Path(root) / files[0]
    raise KeyError(f"dataset {name!r} is not a folder or single-file dataset of this assignment")


def pretrained_weights(name: str, root) -> Path:
    """The weights file for model `name`: the real one under DATA_ROOT (downloaded there if missing and
    the machine is online), or the kit's stand-in, said loudly."""
    root = Path(root)
    key, entry = _declared(name)
    standin = _standin(key, root)
    if standin is not None:
        (rel, _), = standin["files"].items()
        return root / rel
    if not entry:
        raise KeyError(f"no weights {name!r} in this assignment's manifest ({MANIFEST_FILE})")
    path = root / entry["path"]
    if not path.exists():
        from torch.hub import download_url_to_file

        path.parent.mkdir(parents=True, exist_ok=True)
        download_url_to_file(entry["url"], str(path), hash_prefix=entry.get("sha256") or None)
    return path


def load_pretrained(name: str, root):
    """torchvision model `name` with its pretrained weights (or the stand-in)."""
    import torch
    import torchvision

    _, entry = _declared(name)
    model = getattr(torchvision.models, entry.get("model") or name)(weights=None)
    model.load_state_dict(torch.load(pretrained_weights(name, root), map_location="cpu", weights_only=True))
    return model


def as_tensors(dataset, device="cpu", limit: int | None = None, chunk: int = 2048):
    """(X, y): a whole dataset (its transform applied once per example, in one pass) as two tensors on
    `device`. For sets that fit in the device's memory: FashionMNIST or MNIST train 188 MB, SVHN train
    880 MB, EMNIST letters 233 MB as float32. Training then slices batches where the data already is
    (`batches`), instead of a DataLoader re-running the transform and copying every batch every epoch.
    Random augmentation is not for this path: it would be drawn once."""
    import torch
    from torch.utils.data import DataLoader, Subset

    if limit is not None:
        dataset = Subset(dataset, range(min(limit, len(dataset))))
    xs, ys = [], []
    for xb, yb in DataLoader(dataset, batch_size=chunk, shuffle=False):
        xs.append(xb)
        ys.append(torch.as_tensor(yb))
    return torch.cat(xs).to(device), torch.cat(ys).to(device)


def batches(X, y, batch_size: int, shuffle: bool = True, generator=None):
    """Mini-batches of (X, y) sliced on their own device, in an order drawn there (`generator`: a
    torch.Generator on that device, for a reproducible order), the last one smaller."""
    import torch

    n = len(X)
    order = (torch.randperm(n, device=X.device, generator=generator) if shuffle
             else torch.arange(n, device=X.device))
    for start in range(0, n, batch_size):
        index = order[start:start + batch_size]
        yield X[index], y[index]
