"""Call a student's function from a grader without running it in the grader's process.

Only the notebook's definitions travel (imports, functions, classes, constant assignments); the calls
run in a sandboxed worker process (one per grading session, gradekit/grading/worker.py) with a time limit
per call; arguments and results cross as JSON and .npz arrays.
"""
from __future__ import annotations

import inspect
import io
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gradekit.course.limits import Limits
from gradekit.grading.definitions import collect
from gradekit.grading.failures import BadArtifact, ItemFailed, MissingArtifact
from gradekit.grading.worker import Garbled, SandboxedWorker, WorkerGone, WorkerKind
from gradekit.records import RunRecord



def definitions(notebook: Path) -> str:
    """The source the worker runs: see gradekit.grading.definitions."""
    return collect(notebook).source


@dataclass
class Call:
    function: str
    args: tuple
    kwargs: dict
    inputs_after: bool = False
    repeat: int = 1
    probe: str | None = None   # a grader's probe: its source, run beside the notebook's definitions
    what: str = ""


class StudentCode:
    def __init__(self, run_dir: Path, data_root: Path, timeout_s: float = 120, kind: WorkerKind | None = None):
        """`kind`: the sandbox the calls run in (the run's limits, helpers, course files, preload); default: the
        kit's default limits and no datasets."""
        self.run_dir, self.data_root, self.timeout_s = run_dir, data_root, timeout_s
        self.kind = kind or WorkerKind.of(data_root, {}, Limits())
        self._defs: str | None = None
        self._gaps: dict[str, str] = {}
        self._worker: SandboxedWorker | None = None

    def _notebook(self) -> Path:
        found = [p for p in self.run_dir.glob("*.ipynb")]
        if not found:
            raise MissingArtifact("no executed notebook to take the function from")
        return found[0]

    def call(self, function: str, *args, torch_args: bool = False, **kwargs) -> list[np.ndarray | None]:
        """Call `function` with numbers, numpy arrays (as torch tensors if torch_args) or models (a
        torch.export ExportedProgram arrives as a module); return its results as numpy arrays (None
        where it returned None)."""
        return self._run([Call(function, args, kwargs)], torch_args)[0][0]

    def call_each(self, function: str, cases: list[tuple], torch_args: bool = False) -> list[list[np.ndarray | None]]:
        """`function(*case)` for every case, all in one sandboxed process (one start-up, not one per case);
        each case gets fresh copies of its arrays."""
        return [r for r, _ in self._run([Call(function, tuple(c), {}) for c in cases], torch_args)]

    def call_many(self, calls: list[tuple], torch_args: bool = False, keep_going: bool = False) -> list:
        """Several functions of the notebook, `[(name, args), ...]` or `[(name, args, kwargs), ...]`, in one
        sandboxed process. With keep_going, a call that fails gives its ItemFailed in its place instead of
        raising, so several items can share one process and still be marked apart."""
        wanted = [Call(c[0], tuple(c[1]), dict(c[2]) if len(c) > 2 else {}) for c in calls]
        return [r for r, _ in self._run(wanted, torch_args, keep_going=keep_going)]

    def call_repeatedly(self, function: str, times: int, *args, torch_args: bool = False, **kwargs) -> list[np.ndarray]:
        """The one-result function called `times` times in one process (a random transform: do the
        calls differ?); one array per call."""
        return self._run([Call(function, args, kwargs, repeat=times)], torch_args)[0][0]

    def call_and_inputs(self, function: str, *args, torch_args: bool = False, **kwargs) -> tuple[list[np.ndarray], dict[int, np.ndarray]]:
        """As `call`, and also the array arguments as the function left them (position -> array), to
        check that it did not modify its input in place."""
        return self._run([Call(function, args, kwargs, inputs_after=True)], torch_args)[0]

    def probe(self, probe, *args, what: str = "", **kwargs) -> list[np.ndarray | None]:
        """Run the grader's function `probe(student, *args)` in the sandbox beside the notebook's
        definitions (`student`: their namespace, e.g. student["YourModel"]) and return its numbers: for
        checks of a class or an object a student builds, which only code next to theirs can look at. The
        probe must be a self-contained top-level function (imports inside; `graphfacts` importable)."""
        source = textwrap.dedent(inspect.getsource(probe))
        return self._run([Call(probe.__name__, args, kwargs, probe=source, what=what or probe.__name__)], False)[0][0]

    def _run(self, calls: list[Call], torch_args: bool, keep_going: bool = False) -> list[tuple[list, dict]]:
        if self._defs is None:
            found = collect(self._notebook())
            self._defs, self._gaps = found.source, found.gaps
        if self._worker is None or not self._worker.alive():
            # the one the batch made ready for this grading, the first time; a fresh one after a crash
            self._worker = SandboxedWorker.handed_over(self.kind) or SandboxedWorker(self.kind)
            self._worker.load(self._defs)
        worker = self._worker
        worker.requests += 1
        what = calls[0].what or f"{calls[0].function}()"
        # the first request also pays for starting Python, torch and the notebook's imports
        timeout = self.timeout_s * (1 + (len(calls) - 1) / 4) + (20 if worker.requests == 1 else 0)
        try:
            status, data = worker.ask(*_request(calls, torch_args), timeout)
        except WorkerGone as gone:
            if gone.timed_out:
                raise ItemFailed(f"{what} did not return within {timeout:.0f} s") from None
            raise ItemFailed(f"{what} crashed the worker process (exit code {gone.returncode})") from None
        except Garbled as garbled:   # the student's code wrote into the protocol: their call failed
            raise ItemFailed(f"{what} sent back something that is not a result ({garbled})") from None
        if not status.get("ok"):
            raise ItemFailed(f"{what} raised {str(status.get('error'))[:400]}")
        answers = status.get("calls")
        if not isinstance(answers, list) or len(answers) != len(calls):
            raise ItemFailed(f"{what} sent back something that is not a result (its answer is malformed)")
        return [self._answer(j, call, answer, data, keep_going) for j, (call, answer) in enumerate(zip(calls, answers))]

    def _answer(self, j: int, call: Call, answer, data: dict, keep_going: bool) -> tuple:
        """(results, inputs after the call) of the j-th call, or (ItemFailed, {}) when it failed and the
        caller keeps going."""
        what = call.what or f"{call.function}()"
        if not isinstance(answer, dict) or not answer.get("ok"):
            error = answer.get("error", "") if isinstance(answer, dict) else "a malformed answer"
            failed = ItemFailed(f"{what} raised {self._explain(str(error)[:400])}")
            if not keep_going:
                raise failed
            return failed, {}
        try:
            count, nones = int(answer["count"]), set(answer.get("none", []))
            results = [None if i in nones else data[f"c{j}_out{i}"] for i in range(min(count, 64))]
        except (KeyError, TypeError, ValueError):
            raise ItemFailed(f"{what} sent back something that is not a result (a value is missing)") from None
        inputs = {int(k.split("_in")[1]): v for k, v in data.items()
                  if k.startswith(f"c{j}_in") and k.split("_in")[1].isdigit()}
        return results, inputs

    def _explain(self, error: str) -> str:
        """A NameError for a module-level name that could not travel says which name and why; a function
        that is missing after a run that stopped says how the run stopped."""
        if error.startswith("NameError: the notebook defines no function"):
            run = RunRecord.load(self.run_dir)
            if run is not None and run.status != "ok":
                return f"{error} (the run: {run.status}: {run.reason})"
        found = re.match(r"NameError: name '(\w+)' is not defined", error)
        if found and found.group(1) in self._gaps:
            name = found.group(1)
            return (f"{error}: the function reads the notebook's global {name}, which the graders cannot bring "
                    f"along ({self._gaps[name]}); pass it as an argument or define it from constants")
        return error

    def close(self) -> None:
        """End the session's worker process (the grading plugin does, when the graders are done)."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None


def expect_array(value: np.ndarray, what: str, shape: tuple | None = None, kinds: str = "f") -> np.ndarray:
    """Type, dtype and shape before any comparison."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in kinds:
        raise BadArtifact(f"{what} must be a {'floating-point ' if kinds == 'f' else ''}tensor, got dtype {getattr(value, 'dtype', type(value).__name__)}")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise BadArtifact(f"{what} has shape {tuple(value.shape)}, expected {tuple(shape)}")
    return value


def _request(calls: list[Call], torch_args: bool) -> tuple[dict, bytes]:
    """The request frame and its arrays (.npz bytes): arrays, images and the grader's own exported models
    travel as arrays, never as pickles."""
    arrays = {}

    def encode(value):
        if type(value).__name__ == "ExportedProgram":   # the grader's own model, sent as its archive's bytes
            import torch

            buffer = io.BytesIO()
            torch.export.save(value, buffer)
            key = f"m{len(arrays)}"
            arrays[key] = np.frombuffer(buffer.getvalue(), dtype=np.uint8)
            return {"__exported__": key}
        if type(value).__module__.startswith("PIL.") and hasattr(value, "getpixel"):  # a PIL image
            key = f"a{len(arrays)}"
            arrays[key] = np.asarray(value)
            return {"__image__": key}
        if isinstance(value, np.ndarray):
            key = f"a{len(arrays)}"
            arrays[key] = value
            return {"__array__": key, "torch": torch_args}
        return value

    request = {"calls": [{"function": c.function, "args": [encode(a) for a in c.args],
                          "kwargs": {k: encode(v) for k, v in c.kwargs.items()},
                          "inputs_after": c.inputs_after, "repeat": c.repeat, "probe": c.probe}
                         for c in calls]}
    packed = io.BytesIO()
    np.savez(packed, **arrays)
    return request, packed.getvalue()
