"""Fetch, verify and describe the datasets under a DATA_ROOT."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from gradekit.data.registry import Dataset

STANDINS_FILE = "STANDINS.json"


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def standins(root: Path) -> dict:
    path = root / STANDINS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def provenance(dataset: Dataset, root: Path) -> str:
    """'real' (every file with the real md5), 'standin', or 'missing: <why>'."""
    entry = standins(root).get(dataset.torchvision_name)
    if entry:
        return "standin"
    for rel, expected in dataset.files.items():
        path = root / rel
        if not path.exists():
            return f"missing: {rel}"
        if md5(path) != expected:
            return f"missing: {rel} has the wrong md5"
    return "real"


def verify(dataset: Dataset, root: Path) -> tuple[bool, str]:
    state = provenance(dataset, root)
    if state == "standin":
        entry = standins(root)[dataset.torchvision_name]
        bad = [rel for rel, m in entry["files"].items() if not (root / rel).exists() or md5(root / rel) != m]
        return (not bad, "stand-in" + (f", changed since synth: {', '.join(bad)}" if bad else ", checksums ok"))
    return state == "real", state


def fetch(dataset: Dataset, root: Path, mirror: Path | None = None) -> str:
    """Copy from a local mirror (same layout as DATA_ROOT) and verify, or download with torchvision."""
    if provenance(dataset, root) == "real" and _loads(dataset, root):
        return "already there"
    if dataset.torchvision_name in standins(root):
        raise SystemExit(f"{dataset.name}: {root} holds a stand-in; remove it (or use another data root) before fetching")
    if mirror is not None:
        for rel, expected in dataset.files.items():
            src = mirror / rel
            if not src.exists():
                raise FileNotFoundError(f"{dataset.name}: {src} not in the mirror")
            if md5(src) != expected:
                raise ValueError(f"{dataset.name}: {src} has the wrong md5")
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, root / rel)
        source = f"copied from {mirror}"
    else:
        source = "downloaded by torchvision"
    # torchvision finds the verified archives and only extracts them; runs see DATA_ROOT read-only,
    # so this has to happen here and not in the first notebook that loads the set.
    import torchvision

    cls = getattr(torchvision.datasets, dataset.torchvision_name)
    for kwargs in dataset.fetch_kwargs:
        cls(str(root / dataset.subfolder), download=True, **kwargs)
    ok, state = verify(dataset, root)
    if not ok:
        raise ValueError(f"{dataset.name}: {state} after fetch")
    return source


def record_standin(root: Path, torchvision_name: str, files: list[str], kind: str) -> None:
    entries = standins(root)
    entries[torchvision_name] = {"kind": kind, "made_by": "gradekit data synth",
                                 "files": {rel: md5(root / rel) for rel in files}}
    tmp = root / (STANDINS_FILE + ".tmp")
    tmp.write_text(json.dumps(entries, indent=1, sort_keys=True))
    tmp.replace(root / STANDINS_FILE)


def _loads(dataset: Dataset, root: Path) -> bool:
    """Whether torchvision can read the set without writing anything (archives already extracted)."""
    import torchvision

    cls = getattr(torchvision.datasets, dataset.torchvision_name)
    try:
        for kwargs in dataset.fetch_kwargs:
            cls(str(root / dataset.subfolder), download=False, **kwargs)
    except (RuntimeError, OSError):
        return False
    return True
