"""Fetch, verify and describe declared datasets under a DATA_ROOT. Nothing here knows a dataset by name."""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from gradekit.data.catalog import Catalog, Dataset
# the students' helper reads the same manifest; it must run without gradekit, so the engine uses its code
from gradekit.provided.gradekit_data import STANDINS_FILE, md5, standins
from gradekit.errors import DataRefused

REAL, STANDIN, REBUILT = "real", "standin", "rebuilt"


def digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def matches(path: Path, checksum: str) -> bool:
    """`checksum` is "md5:<hex>" or "sha256:<hex>"; a prefix of the hex digest is enough (torchvision names
    weights files by the first 8 hex digits of their sha256)."""
    algorithm, _, expected = checksum.partition(":")
    return bool(expected) and digest(path, algorithm).startswith(expected.lower())


def tree_md5(folder: Path) -> str:
    """One digest over a folder: every file's relative path and md5, in sorted order."""
    h = hashlib.md5()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        h.update(bytes.fromhex(md5(path)))
    return h.hexdigest()


def declared_files(dataset: Dataset) -> dict[str, str]:
    """Path under DATA_ROOT -> checksum, for the kinds checked file by file."""
    if dataset.kind == "weights":
        return {dataset.path: f"sha256:{dataset.sha256}"} if dataset.sha256 else {dataset.path: ""}
    return dict(dataset.files)


def provenance(dataset: Dataset, root: Path) -> str:
    """'real' (every file as published), 'rebuilt' (a course file built by its recipe, digest as declared),
    'standin', or 'missing: <why>'."""
    if dataset.name in standins(root):
        return STANDIN
    if dataset.kind == "folder":
        folder = root / dataset.path
        if not folder.is_dir():
            return f"missing: {dataset.path}/"
        return REAL if tree_md5(folder) == dataset.tree_md5 else f"missing: {dataset.path}/ differs from the published files"
    for rel, checksum in declared_files(dataset).items():
        path = root / rel
        if not path.exists():
            return f"missing: {rel}"
        if checksum and not matches(path, checksum):
            return f"missing: {rel} has the wrong {checksum.partition(':')[0]}"
    return REBUILT if dataset.recipe else REAL


def provenances(catalog: Catalog, root: Path) -> dict[str, str]:
    """dataset -> where its files came from, for a run's record."""
    return {d.name: provenance(d, root) for d in catalog}


def verify(dataset: Dataset, root: Path) -> tuple[bool, str]:
    state = provenance(dataset, root)
    if state == STANDIN:
        entry = standins(root)[dataset.name]
        bad = [rel for rel, m in entry["files"].items() if not (root / rel).exists() or md5(root / rel) != m]
        return (not bad, "stand-in" + (f", changed since synth: {', '.join(bad)}" if bad else ", checksums ok"))
    return not state.startswith("missing"), state


def fetch(dataset: Dataset, root: Path, mirror: Path | None = None, inputs: dict[str, Dataset] | None = None) -> str:
    """Copy from a local mirror (same layout as DATA_ROOT), build by the declared recipe, or download;
    then verify and unpack what the loader would otherwise unpack on first use."""
    if not provenance(dataset, root).startswith("missing") and _loads(dataset, root):
        return "already there"
    if dataset.name in standins(root):
        raise DataRefused(f"{dataset.name}: {root} holds a stand-in; remove it (or use another data root) before fetching")
    if dataset.recipe:
        missing = [n for n, d in (inputs or {}).items() if provenance(d, root).startswith("missing")]
        if missing:
            raise ValueError(f"{dataset.name}: built from {', '.join(missing)}, which must be fetched first")
        dataset.function(dataset.recipe)(root, dataset)
        source = f"built by {dataset.recipe}"
    elif mirror is not None:
        _copy_from_mirror(dataset, root, mirror)
        source = f"copied from {mirror}"
    else:
        _download(dataset, root)
        source = "downloaded"
    if dataset.kind == "torchvision":
        # torchvision finds the verified archives and only extracts them; runs see DATA_ROOT read-only,
        # so this has to happen here and not in the first notebook that loads the set.
        import torchvision

        cls = getattr(torchvision.datasets, dataset.loader)
        for kwargs in dataset.splits:
            cls(str(root / dataset.root), download=True, **kwargs)
    ok, state = verify(dataset, root)
    if not ok:
        raise ValueError(f"{dataset.name}: {state} after fetch")
    return source


def _copy_from_mirror(dataset: Dataset, root: Path, mirror: Path) -> None:
    if dataset.kind == "folder":
        src = mirror / dataset.path
        if not src.is_dir() or tree_md5(src) != dataset.tree_md5:
            raise ValueError(f"{dataset.name}: {src} is missing or differs from the published files")
        shutil.copytree(src, root / dataset.path, dirs_exist_ok=True)
        return
    for rel, checksum in declared_files(dataset).items():
        src = mirror / rel
        if not src.exists():
            raise FileNotFoundError(f"{dataset.name}: {src} not in the mirror")
        if checksum and not matches(src, checksum):
            raise ValueError(f"{dataset.name}: {src} has the wrong {checksum.partition(':')[0]}")
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, root / rel)


def _download(dataset: Dataset, root: Path) -> None:
    if dataset.kind == "torchvision":
        return  # torchvision's own download, in fetch()
    if not dataset.url:
        raise DataRefused(f"{dataset.name}: no download address; fetch it --from a mirror")
    if dataset.kind == "weights":
        from torch.hub import download_url_to_file

        (root / dataset.path).parent.mkdir(parents=True, exist_ok=True)
        download_url_to_file(dataset.url, str(root / dataset.path), hash_prefix=dataset.sha256 or None)
        return
    if dataset.kind == "files" and not dataset.url.endswith(".zip"):  # the address of the one file itself
        (rel,) = dataset.files
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        urllib.request.urlretrieve(dataset.url, root / rel)
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

    cls = getattr(torchvision.datasets, dataset.loader)
    try:
        for kwargs in dataset.splits:
            cls(str(root / dataset.root), download=False, **kwargs)
    except (RuntimeError, OSError):
        return False
    return True


def record_standin(root: Path, name: str, files: list[str], note: str, seed: int = 0) -> None:
    entries = standins(root)
    entries[name] = {"kind": note, "made_by": "gradekit data synth", "seed": seed,
                     "files": {rel: md5(root / rel) for rel in files}}
    tmp = root / (STANDINS_FILE + ".tmp")
    tmp.write_text(json.dumps(entries, indent=1, sort_keys=True))
    tmp.replace(root / STANDINS_FILE)
