"""Format-faithful stand-ins for declared datasets that cannot be had offline.

A declaration names its stand-in generator ("file.py:function" beside it, called with the data root,
the declaration and a seed, returning the paths it wrote), or "random-init" for pretrained weights (a
fixed random init of the declared torchvision model). The engine never overwrites a real file, and
records every stand-in in DATA_ROOT/STANDINS.json so that every loader and report can say it is one.
"""
from __future__ import annotations

from pathlib import Path

from gradekit.data import store
from gradekit.data.catalog import BUILTIN_RANDOM_INIT, Dataset
from gradekit.errors import DataRefused


def random_init(root: Path, dataset: Dataset, seed: int = 0) -> list[str]:
    """A state_dict in torchvision's layout with a fixed random init, beside (never at) the real file's
    name. Freezing checks compare tensors bit for bit, so they run on it unchanged."""
    import torch
    import torchvision

    rel = str(Path(dataset.path).with_name(f"{dataset.model}-standin.pth"))
    torch.manual_seed(seed)
    state = getattr(torchvision.models, dataset.model)(weights=None).state_dict()
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, root / rel)
    return [rel]


def synth(dataset: Dataset, root: Path, seed: int = 0) -> list[str]:
    """Write the stand-in unless the real files, or the same stand-in, are there; return what was written."""
    if not dataset.standin:
        raise DataRefused(f"{dataset.name} has no stand-in: fetch the real files instead")
    if store.provenance(dataset, root) in (store.REAL, store.REBUILT):
        return []
    real = [rel for rel, checksum in store.declared_files(dataset).items()
            if checksum and (root / rel).exists() and store.matches(root / rel, checksum)]
    if real:
        raise DataRefused(f"{dataset.name}: {real} are real files; a stand-in never replaces real data")
    if unchanged(dataset, root, seed):
        return []
    make = random_init if dataset.standin == BUILTIN_RANDOM_INIT else dataset.function(dataset.standin)
    written = make(root, dataset, seed)
    note = dataset.standin_note or ("random init in torchvision's layout" if make is random_init else "stand-in")
    store.record_standin(root, dataset.name, written, note, seed)
    return written


def unchanged(dataset: Dataset, root: Path, seed: int) -> bool:
    """The stand-in is there, made with this seed, every file as it was written: nothing to do again."""
    entry = store.standins(root).get(dataset.name, {})
    return (store.provenance(dataset, root) == store.STANDIN and entry.get("seed") == seed
            and store.verify(dataset, root)[0])
