"""Fetch, verify and describe the datasets under a DATA_ROOT."""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from gradekit.data.registry import Dataset
# the students' helper reads the same manifest; it must run without gradekit, so the engine uses its code
from gradekit.provided.gradekit_data import STANDINS_FILE, md5, standins


def tree_md5(folder: Path) -> str:
    """One digest over a folder: every file's relative path and md5, in sorted order."""
    digest = hashlib.md5()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(bytes.fromhex(md5(path)))
    return digest.hexdigest()


def _sha256_prefix(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def provenance(dataset: Dataset, root: Path) -> str:
    """'real' (every file as published), 'standin', or 'missing: <why>'."""
    if dataset.manifest_key in standins(root):
        return "standin"
    if dataset.kind == "folder":
        folder = root / dataset.subfolder
        if not folder.is_dir():
            return f"missing: {dataset.subfolder}/"
        return "real" if tree_md5(folder) == dataset.tree_md5 else f"missing: {dataset.subfolder}/ differs from the published files"
    if dataset.kind == "weights":
        path = root / dataset.subfolder
        if not path.exists():
            return f"missing: {dataset.subfolder}"
        prefix = path.stem.rsplit("-", 1)[-1]
        return "real" if _sha256_prefix(path).startswith(prefix) else f"missing: {dataset.subfolder} has the wrong sha256"
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
        entry = standins(root)[dataset.manifest_key]
        bad = [rel for rel, m in entry["files"].items() if not (root / rel).exists() or md5(root / rel) != m]
        return (not bad, "stand-in" + (f", changed since synth: {', '.join(bad)}" if bad else ", checksums ok"))
    return state == "real", state


def fetch(dataset: Dataset, root: Path, mirror: Path | None = None) -> str:
    """Copy from a local mirror (same layout as DATA_ROOT) or download, then verify."""
    if provenance(dataset, root) == "real" and _loads(dataset, root):
        return "already there"
    if dataset.manifest_key in standins(root):
        raise SystemExit(f"{dataset.name}: {root} holds a stand-in; remove it (or use another data root) before fetching")
    if mirror is not None:
        _copy_from_mirror(dataset, root, mirror)
        source = f"copied from {mirror}"
    else:
        _download(dataset, root)
        source = "downloaded"
    if dataset.kind == "torchvision":
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


def _copy_from_mirror(dataset: Dataset, root: Path, mirror: Path) -> None:
    if dataset.kind == "folder":
        src = mirror / dataset.subfolder
        if not src.is_dir() or tree_md5(src) != dataset.tree_md5:
            raise ValueError(f"{dataset.name}: {src} is missing or differs from the published files")
        shutil.copytree(src, root / dataset.subfolder, dirs_exist_ok=True)
        return
    files = {dataset.subfolder: None} if dataset.kind == "weights" else dataset.files
    for rel, expected in files.items():
        src = mirror / rel
        if not src.exists():
            raise FileNotFoundError(f"{dataset.name}: {src} not in the mirror")
        if expected is not None and md5(src) != expected:
            raise ValueError(f"{dataset.name}: {src} has the wrong md5")
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, root / rel)


def _download(dataset: Dataset, root: Path) -> None:
    if dataset.kind == "torchvision":
        return  # torchvision's own download, below in fetch()
    if not dataset.url:
        raise SystemExit(f"{dataset.name}: no download address; fetch it --from a mirror")
    if dataset.kind == "weights":
        from torch.hub import download_url_to_file

        (root / dataset.subfolder).parent.mkdir(parents=True, exist_ok=True)
        download_url_to_file(dataset.url, str(root / dataset.subfolder), hash_prefix=Path(dataset.subfolder).stem.rsplit("-", 1)[-1])
        return
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "archive.zip"
        urllib.request.urlretrieve(dataset.url, archive)
        with zipfile.ZipFile(archive) as z:
            z.extractall(root)


def _loads(dataset: Dataset, root: Path) -> bool:
    """Whether torchvision can read the set without writing anything (archives already extracted)."""
    if dataset.kind != "torchvision":
        return True
    import torchvision

    cls = getattr(torchvision.datasets, dataset.torchvision_name)
    try:
        for kwargs in dataset.fetch_kwargs:
            cls(str(root / dataset.subfolder), download=False, **kwargs)
    except (RuntimeError, OSError):
        return False
    return True


def record_standin(root: Path, key: str, files: list[str], kind: str) -> None:
    entries = standins(root)
    entries[key] = {"kind": kind, "made_by": "gradekit data synth",
                    "files": {rel: md5(root / rel) for rel in files}}
    tmp = root / (STANDINS_FILE + ".tmp")
    tmp.write_text(json.dumps(entries, indent=1, sort_keys=True))
    tmp.replace(root / STANDINS_FILE)
