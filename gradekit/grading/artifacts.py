"""A read-only view of what one run produced, with type checks before any comparison."""
from __future__ import annotations

import io
import math
from functools import cached_property
from pathlib import Path

from gradekit.grading.failures import BadArtifact, MissingArtifact
from gradekit.records import RunRecord
from gradekit.platform.untrusted import UntrustedData, load_npz, open_zip, read_bytes, read_json

# what the graders read of one artifact at most (the published folder is bounded too: gradekit.run.publish)
MAX_ANSWERS_BYTES = 16 << 20
MAX_ARTIFACT_BYTES = 1 << 30
_SUFFIX = {"model": ".pt2", "state_dict": ".pt", "arrays": ".npz"}


class Lazy(dict):
    """key -> load(key), computed on first use and kept: a fixture of several models or accuracies where
    each item asks only for what it needs, so a missing model fails only the items that use it."""

    def __init__(self, load):
        super().__init__()
        self.load = load

    def __missing__(self, key):
        self[key] = self.load(key)
        return self[key]


class SubmissionArtifacts:
    def __init__(self, run_dir: Path):
        self.dir = run_dir
        self.artifacts = run_dir / "artifacts"

    @cached_property
    def run(self) -> RunRecord:
        return RunRecord.load(self.dir) or RunRecord(self.dir.parent.name, self.dir.name,
                                                     reason="no run.json: the submission was never run")

    def _context(self, kind: str, name: str) -> str:
        """Why it may be missing: the failure of the task that makes it, else the run's."""
        task = self.run.task_of(kind, name)
        if task is not None:
            return "" if task.status == "ok" else f" ({task.name}: {task.status}: {task.reason})"
        if self.run.status == "ok":
            return ""
        return f" (the run: {self.run.status}: {self.run.reason})"

    def submitted(self, kind: str, name: str) -> bool:
        """Whether the run handed this in (for an item that grades a number when its model is missing)."""
        if kind == "answer":
            return name in self.answers
        path = self.artifacts / f"{name}{_SUFFIX[kind]}"
        return path.exists() or path.is_symlink()

    def missing(self, kind: str, name: str) -> MissingArtifact:
        return MissingArtifact(f"{kind} '{name}' was not submitted{self._context(kind, name)}")

    # answers -------------------------------------------------------------------------------------
    @cached_property
    def answers(self) -> dict:
        path = self.artifacts / "answers.json"
        if not path.exists() and not path.is_symlink():
            return {}
        try:
            data = read_json(path, MAX_ANSWERS_BYTES)
        except UntrustedData as exc:
            raise BadArtifact(str(exc)) from None
        if not isinstance(data, dict):
            raise BadArtifact("answers.json does not hold a mapping of question ids to answers")
        return data

    def answer(self, qid: str):
        if qid not in self.answers:
            raise self.missing("answer", qid)
        return self.answers[qid]

    def number(self, qid: str) -> float:
        return _as_number(self.answer(qid), qid)

    def numbers(self, qid: str, length: int) -> list[float]:
        value = self.answer(qid)
        if not isinstance(value, list) or len(value) != length:
            raise BadArtifact(f"answer '{qid}' must be a list of {length} numbers")
        return [_as_number(v, f"{qid}[{i}]") for i, v in enumerate(value)]

    def mapping(self, qid: str, keys: list[str]) -> dict[str, float]:
        value = self.answer(qid)
        if not isinstance(value, dict):
            raise BadArtifact(f"answer '{qid}' must be a dict with keys {', '.join(keys)}")
        absent = [k for k in keys if k not in value]
        if absent:
            raise BadArtifact(f"answer '{qid}' lacks {', '.join(absent)}")
        return {k: _as_number(value[k], f"{qid}[{k}]") for k in keys}

    # models and arrays ---------------------------------------------------------------------------
    def _bytes(self, filename: str, kind: str, name: str) -> bytes:
        what = f"{kind} '{name}'"
        path = self.artifacts / filename
        if not path.exists() and not path.is_symlink():
            raise self.missing(kind, name)
        try:
            return read_bytes(path, MAX_ARTIFACT_BYTES, what)
        except UntrustedData as exc:
            raise BadArtifact(str(exc)) from None

    @cached_property
    def _programs(self) -> dict:
        return {}

    def exported(self, name: str):
        """The torch.export program: a graph of ATen operations, checked and rebuilt before torch sees it
        (gradekit.grading.pt2), never the student's Python code. Loaded once per grading session."""
        from gradekit.grading import pt2

        if name not in self._programs:
            data = self._bytes(f"{name}{_SUFFIX['model']}", "model", name)
            self._programs[name] = pt2.load(data, name, MAX_ARTIFACT_BYTES)
        return self._programs[name]

    def model(self, name: str):
        return self.exported(name).module()

    def state_dict(self, name: str) -> dict:
        import torch

        data = self._bytes(f"{name}{_SUFFIX['state_dict']}", "state_dict", name)
        try:   # torch's restricted unpickler (tensors and containers only), after the archive's bounds
            open_zip(data, f"state_dict '{name}'", 65536, MAX_ARTIFACT_BYTES)
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except UntrustedData as exc:
            raise BadArtifact(str(exc)) from None
        except Exception as exc:
            raise BadArtifact(f"state_dict '{name}' is not a plain tensor dict: {type(exc).__name__}") from None
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise BadArtifact(f"state_dict '{name}' must map names to tensors")
        return state

    def arrays(self, name: str) -> dict:
        data = self._bytes(f"{name}{_SUFFIX['arrays']}", "arrays", name)
        try:
            return load_npz(data, f"arrays '{name}'", max_unpacked=MAX_ARTIFACT_BYTES)
        except UntrustedData as exc:
            raise BadArtifact(str(exc)) from None


def _as_number(value, what: str) -> float:
    # bool is an int in Python, but True is no answer to a numerical question
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadArtifact(f"answer '{what}' must be a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise BadArtifact(f"answer '{what}' is not finite ({value})")
    return float(value)
