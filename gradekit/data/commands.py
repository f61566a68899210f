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
        written = synth.synth(dataset, data_root, seed)
        return True, (f"stand-in written: {', '.join(written)}" if written else "real files present, nothing written")
    ok, state = store.verify(dataset, data_root)
    if ok:   # and readable as the sandboxed run will read it
        why = preflight.probe_readable(Catalog({name: dataset}), data_root).get(name)
        ok, state = (False, f"{state}, but cannot be read as it is: {why}") if why else (True, state)
    return ok, f"{'ok' if ok else 'FAILED'} ({state})"
