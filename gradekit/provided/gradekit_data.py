"""Load a torchvision dataset from DATA_ROOT. Provided with the assignment (the runner keeps it pristine).

    from gradekit_data import load_dataset
    train = load_dataset("SVHN", DATA_ROOT, split="train", transform=T.ToTensor())

This is torchvision's own loader. On a machine with internet it downloads as usual. On the kit's smoke
profile a dataset that cannot be had offline is a small *stand-in* written by `gradekit data synth` in
the real file format; it is listed in DATA_ROOT/STANDINS.json with its own checksums, and loading it says
so loudly. Only torchvision's checksum of the real file is skipped for a stand-in; the parser is the same.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

STANDINS_FILE = "STANDINS.json"
# torchvision datasets that read straight from `root` get a folder of their own under DATA_ROOT.
_OWN_FOLDER = {"SVHN": "SVHN"}
# pretrained weights under DATA_ROOT, named as torchvision names them (sha256 prefix last)
_WEIGHTS = {"resnet18": ("weights/resnet18-f37072fd.pth", "https://download.pytorch.org/models/resnet18-f37072fd.pth")}


def standins(root) -> dict:
    path = Path(root) / STANDINS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def is_standin(name: str, root) -> bool:
    return name in standins(root)


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_dataset(name: str, root, download: bool = True, **kwargs):
    import torchvision

    cls = getattr(torchvision.datasets, name)
    root = Path(root)
    folder = root / _OWN_FOLDER[name] if name in _OWN_FOLDER else root
    entry = standins(root).get(name)
    if entry is None:
        return cls(str(folder), download=download, **kwargs)
    for rel, expected in entry["files"].items():
        if md5(root / rel) != expected:
            raise RuntimeError(f"stand-in file {root / rel} does not match STANDINS.json; re-run `gradekit data synth`")
    warnings.warn(f"{name} under {root} is a STAND-IN made by `gradekit data synth` ({entry.get('kind', '')}); "
                  "accuracies on it are not comparable with the real dataset", stacklevel=2)
    standin_cls = type(cls.__name__, (cls,), {"_check_integrity": lambda self: True})
    return standin_cls(str(folder), download=False, **kwargs)


def pretrained_weights(name: str, root) -> Path:
    """The weights file for torchvision model `name`: the real one under DATA_ROOT (downloaded there if
    missing and the machine is online), or the kit's stand-in, said loudly."""
    root = Path(root)
    entry = standins(root).get(name)
    if entry is not None:
        (rel, expected), = entry["files"].items()
        if md5(root / rel) != expected:
            raise RuntimeError(f"stand-in weights {root / rel} do not match STANDINS.json; re-run `gradekit data synth`")
        warnings.warn(f"{name} weights under {root} are a STAND-IN made by `gradekit data synth` ({entry.get('kind', '')})",
                      stacklevel=2)
        return root / rel
    rel, url = _WEIGHTS[name]
    path = root / rel
    if not path.exists():
        from torch.hub import download_url_to_file

        path.parent.mkdir(parents=True, exist_ok=True)
        download_url_to_file(url, str(path), hash_prefix=path.stem.rsplit("-", 1)[-1])
    return path


def load_pretrained(name: str, root):
    """torchvision model `name` with its pretrained ImageNet weights (or the stand-in)."""
    import torch
    import torchvision

    model = getattr(torchvision.models, name)(weights=None)
    model.load_state_dict(torch.load(pretrained_weights(name, root), map_location="cpu", weights_only=True))
    return model
