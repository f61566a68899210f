"""The folders of one run, and putting the submission into them.

    autograded/.gk-run-<pid>-XXXX/   made ready with its kernel before the submission comes (gradekit.run.slots),
                                     renamed to autograded/<student>/<assignment> when the run is over
        work/        the kernel's cwd: a private copy of the submission, pristine provided files
        artifacts/   OUTPUT_DIR, the only other folder the kernel may write
        jupyter/     the kernel spec, the run's spec, events and outcome (outside the sandbox)
        <notebook>   the executed notebook, written by papermill where the kernel cannot reach it
    /tmp/gk-XXXX/    the kernel's IPC sockets (a unix socket path has at most 107 bytes)
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat

from gradekit import provided
from gradekit.platform.untrusted import MAX_NOTEBOOK_BYTES, load_json, read_bytes


@dataclass(frozen=True)
class Staging:
    root: Path
    sockets: Path

    @classmethod
    def create_in(cls, base: Path) -> "Staging":
        """A run's folders in a new folder below `base` (where the runs are published: one rename, on disk),
        before anyone knows whose run it will be."""
        base.mkdir(parents=True, exist_ok=True)
        if base not in _SWEPT:
            _SWEPT.add(base)
            sweep(base)
        staging = cls(Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base)),
                      Path(tempfile.mkdtemp(prefix="gk-")))
        staging.root.chmod(0o755)   # published as the run's folder: readable as the course's other folders are
        for folder in (staging.work, staging.artifacts, staging.jupyter):
            folder.mkdir(parents=True)
        return staging

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def jupyter(self) -> Path:
        return self.root / "jupyter"

    def executed(self, notebook_name: str) -> Path:
        return self.root / notebook_name

    def clean(self) -> None:
        """Remove what must not be published (the work copy, sockets, papermill's bookkeeping)."""
        for folder in (self.work, self.sockets, self.jupyter):
            shutil.rmtree(folder, ignore_errors=True)


PREFIX = ".gk-run-"
_SWEPT: set[Path] = set()


def sweep(base: Path) -> None:
    """Remove the run folders a killed batch left below `base` (their process is gone)."""
    for folder in base.glob(f"{PREFIX}*"):
        try:
            os.kill(int(folder.name[len(PREFIX):].split("-")[0]), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (ValueError, PermissionError):
            continue


class NotebookProblem(Exception):
    """The hand-in has no usable notebook; `status` says which kind of problem."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def _copy_regular(source: Path, dest: Path) -> list[str]:
    """Copy the hand-in's regular files and folders; a link, pipe or device is left out (copying through a
    link would put the file it points to, read with the runner's rights, in the student's work folder)."""
    skipped = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            skipped.append(str(relative))
        elif path.is_dir():
            (dest / relative).mkdir(parents=True, exist_ok=True)
        elif not any(p.is_symlink() for p in path.parents if source in p.parents):
            (dest / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest / relative, follow_symlinks=False)
    return [f"left out of the run, not regular files: {', '.join(skipped[:5])}"] if skipped else []


def find_notebook(folder: Path, assignment: str) -> Path | None:
    preferred = folder / f"{assignment}.ipynb"
    if preferred.exists():
        return preferred
    found = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    return found[0] if len(found) == 1 else None


def stage_submission(submission: Path, assignment: str, staging: Staging, manifest: dict,
                     course_files: dict[str, str] | None = None) -> tuple[Path, list[str]]:
    """Copy the hand-in into work/ with the kit's own provided files and the course's (`course_files`: name ->
    text, e.g. the variants' module); return the staged notebook and warnings. Raises NotebookProblem when
    there is nothing to run."""
    from gradekit.records import INVALID_NOTEBOOK, NO_NOTEBOOK

    notebook = find_notebook(submission, assignment) if submission.is_dir() else None
    if notebook is None:
        found = sorted(p.name for p in submission.iterdir()) if submission.is_dir() else []
        raise NotebookProblem(NO_NOTEBOOK, f"no {assignment}.ipynb (nor a single other .ipynb) was handed in; "
                                           f"found: {', '.join(found) or 'nothing'}")
    try:   # never through a link, bounded, depth-checked: the hand-in is the student's
        nb = nbformat.from_dict(load_json(read_bytes(notebook, MAX_NOTEBOOK_BYTES), notebook.name, max_depth=500))
        nbformat.validate(nb)
    except Exception as exc:  # not JSON, not a notebook, wrong schema: all the same to the student
        raise NotebookProblem(INVALID_NOTEBOOK, f"{notebook.name} is not a valid notebook: "
                                                f"{type(exc).__name__}: {str(exc)[:300]}") from None
    warnings = _copy_regular(submission, staging.work)
    provided.write(staging.work, manifest)   # whatever the student did to them, the runner's copies are used
    for name, text in (course_files or {}).items():
        (staging.work / name).unlink(missing_ok=True)   # never written through a link the student planted
        (staging.work / name).write_text(text)
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        warnings.append("no cell tagged 'parameters': the runner's values were injected at the top")
    # every cell gets an id (nbformat 4.5): the run's events name cells by it
    nb.nbformat_minor = max(nb.nbformat_minor, 5)
    for cell in nb.cells:
        cell.setdefault("id", uuid.uuid4().hex[:12])
    staged = staging.work / notebook.name
    nbformat.write(nb, staged)
    return staged, warnings
