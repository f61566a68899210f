"""`gradekit data fetch|verify|synth`, one dataset at a time."""
from __future__ import annotations

from pathlib import Path

from gradekit.data import preflight, store, synth
from gradekit.data.catalog import Catalog


def act(action: str, catalog: Catalog, name: str, data_root: Path, mirror: Path | None, seed: int) -> tuple[bool, str]:
    """(ok, the line to print) for one dataset. Raises DataRefused, OSError or ValueError."""
    dataset = catalog.get(name)
    if action == "fetch":
        return True, store.fetch(dataset, data_root, mirror, {n: catalog.get(n) for n in dataset.inputs})
    if action == "synth":
        if synth.unchanged(dataset, data_root, seed):
            return True, "stand-in present (same seed, checksums ok), nothing written"
        written = synth.synth(dataset, data_root, seed)
        return True, (f"stand-in written: {', '.join(written)}" if written else "real files present, nothing written")
    return verify(catalog, [name], data_root)[name]


def verify(catalog: Catalog, names: list[str], data_root: Path) -> dict[str, tuple[bool, str]]:
    """name -> (ok, line): the checksums, then whether the students' helper can read each one inside the
    sandbox (one sandboxed probe for all of them)."""
    found = {name: store.verify(catalog.get(name), data_root) for name in names}
    readable = Catalog({name: catalog.get(name) for name, (ok, _) in found.items() if ok})
    problems = preflight.probe_readable(readable, data_root) if readable.datasets else {}
    lines = {}
    for name, (ok, state) in found.items():
        if ok and problems.get(name):
            ok, state = False, f"{state}, but cannot be read as it is: {problems[name]}"
        lines[name] = (ok, f"{'ok' if ok else 'FAILED'} ({state})")
    return lines
