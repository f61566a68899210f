"""Before the first student: is every declared dataset there, verified (or a recorded stand-in), and
readable as it is inside the read-only sandbox? Is the sandbox there at all? A batch that would fail
for every student because of the machine refuses to start, with one message per problem and the
command that fixes it."""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from gradekit import provided
from gradekit.data import store
from gradekit.data.catalog import Catalog
from gradekit.platform import sandbox
from gradekit.platform.cgroup import RunCgroup
from gradekit.errors import NotReady

WORKER = Path(__file__).with_name("probe_worker.py")


def problems(catalog: Catalog, data_root: Path, *, unsandboxed: bool = False, probe: bool = True) -> list[str]:
    found = []
    if sandbox.bwrap_path() is None and not unsandboxed:
        found.append("bubblewrap (bwrap) is not installed, so submissions cannot be sandboxed; install it "
                     "(`apt-get install bubblewrap`), or pass --unsandboxed to run untrusted code without it "
                     "(every report will then say NOT SANDBOXED)")
    if not data_root.is_dir():
        return found + [f"the data root {data_root} does not exist; fix: `gradekit data fetch "
                        f"{' '.join(d.name for d in catalog)} --data-root {data_root}`"]
    ready = {}
    for dataset in catalog:
        ok, state = store.verify(dataset, data_root)
        if ok:
            ready[dataset.name] = dataset
            continue
        fix = f"`gradekit data fetch {dataset.name} --data-root {data_root}`"
        if dataset.standin:
            fix += f" (offline: `gradekit data synth {dataset.name} --data-root {data_root}` writes a stand-in)"
        if state.startswith("stand-in"):
            fix = f"`gradekit data synth {dataset.name} --data-root {data_root}`"
        found.append(f"dataset {dataset.name!r} under {data_root}: {state}; fix: {fix}")
    if probe and ready:
        for name, why in probe_readable(Catalog(ready), data_root).items():
            found.append(f"dataset {name!r} under {data_root} cannot be read as it is inside the read-only "
                         f"sandbox ({why}); fix: `gradekit data fetch {name} --data-root {data_root}` "
                         "(it unpacks archives that a loader would otherwise unpack on first use)")
    return found


def probe_readable(catalog: Catalog, data_root: Path, timeout_s: float = 300) -> dict[str, str]:
    """Dataset -> why it failed, for each dataset that the students' helper cannot open inside the sandbox
    with the data root read-only (a plain subprocess when there is no bubblewrap)."""
    work = Path(tempfile.mkdtemp(prefix="gk-probe-"))
    out = Path(tempfile.mkdtemp(prefix="gk-probe-out-"))
    try:
        provided.write(work, catalog.manifest())
        shutil.copyfile(WORKER, work / "probe_worker.py")
        splits = {d.name: list(d.splits) for d in catalog}
        (work / "probe.json").write_text(json.dumps({"manifest": catalog.manifest(), "splits": splits,
                                                     "root": str(data_root), "result": str(out / "result.json")}))
        confinement = sandbox.Confinement(workdir=work, writable=(out,), readable=(data_root,), memory_mb=16384,
                                          processes=64, file_mb=64)
        with RunCgroup(confinement.processes) as group:
            done = sandbox.run(group.enter(confinement.wrap([sys.executable, "probe_worker.py"])), timeout_s, cwd=work)
        try:
            return json.loads((out / "result.json").read_text())
        except (OSError, ValueError):
            why = "timed out" if done.timed_out else f"exit {done.returncode}: {done.output.strip()[-300:]}"
            return {d.name: f"the sandbox could not start or the probe died ({why})" for d in catalog}
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)


def require_ready(catalog: Catalog, data_root: Path, *, unsandboxed: bool = False) -> None:
    found = problems(catalog, data_root, unsandboxed=unsandboxed)
    if found:
        raise NotReady(found)
