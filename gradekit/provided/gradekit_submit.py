"""Hand results to the graders. Provided with the assignment; the grading runner replaces this file
with its own pristine copy, so editing it changes nothing.

    from gradekit_submit import Submission
    submit = Submission(OUTPUT_DIR)
    submit.answer("q2.forward.mse", mse)                    # numbers, lists, dicts of numbers, strings
    submit.model("task2_mlp", model, example_batch)         # a torch.export program (any architecture)
    submit.state_dict("q6_resnet", model)                   # weights of a fixed architecture
    submit.arrays("task3_noise", images=x, labels=y)        # small numpy arrays
    submit.check()                                          # before you submit: will the grader find it all?

Only public packages are used, so the notebook runs the same in Jupyter, Colab or the grading runner.
"""
from __future__ import annotations

import io
import json
import numbers
import os
import tempfile
from pathlib import Path

ANSWERS_FILE = "answers.json"


def _plain(value):
    """Convert tensors, numpy values and containers to JSON-friendly Python values."""
    if hasattr(value, "detach"):  # torch.Tensor
        value = value.detach().cpu().numpy()
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy array or scalar
        value = value.tolist()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    raise TypeError(f"cannot submit a value of type {type(value).__name__}; use numbers, lists, dicts or strings")


def _file_limit() -> int | None:
    """The largest file this process may write (the grader's `output_mb`, as RLIMIT_FSIZE), or None where
    nothing limits it (Jupyter, Colab)."""
    try:
        import resource
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    except (ImportError, ValueError, OSError):
        return None
    return None if limit == resource.RLIM_INFINITY else limit


def _check_size(name: str, size: int, advice: str) -> None:
    """Refuse, before anything is written, a file the grader could not accept: no half-written file, and
    the kernel lives on (a write stopped by the limit can kill it later, from torch's zip writer)."""
    limit = _file_limit()
    if limit is not None and size > limit:
        raise ValueError(f"{name} is {size / (1 << 20):.1f} MB; the grader accepts files up to "
                         f"{limit / (1 << 20):.0f} MB (`output_mb`): {advice} and submit again. Nothing was written.")


def _write_bytes(path: Path, name: str, data: bytes, advice: str = "make the model smaller (fewer or narrower layers)") -> None:
    _check_size(name, len(data), advice)
    _atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class Submission:
    def __init__(self, output_dir):
        self.dir = Path(output_dir)
        self.dir.mkdir(parents=True, exist_ok=True)

    # answers -------------------------------------------------------------------------------------
    def answers(self) -> dict:
        path = self.dir / ANSWERS_FILE
        return json.loads(path.read_text()) if path.exists() else {}

    def answer(self, question_id: str, value) -> None:
        answers = self.answers()
        answers[question_id] = _plain(value)
        text = json.dumps(answers, indent=1, sort_keys=True, allow_nan=True)
        _atomic_write(self.dir / ANSWERS_FILE, lambda tmp: Path(tmp).write_text(text))
        print(f"[submitted] {question_id} = {answers[question_id]!r}")

    def check(self, which: str | None = None):
        """Whether the grader will find each item's evidence, well formed (all items, or those `which` names:
        "q2" checks q2.forward, q2.mse, ...). Prints a line per item; nothing hidden is used or shown."""
        import sys
        try:
            from gradekit_selfcheck import run
        except ImportError:   # imported as part of the kit itself
            from gradekit.provided.gradekit_selfcheck import run
        return run(self.dir, sys._getframe(1).f_globals, which)

    # models --------------------------------------------------------------------------------------
    def model(self, name: str, model, example_input) -> None:
        """Export `model` with torch.export; the batch dimension stays free.

        The exported program takes the same tensors the grader feeds: put any normalisation inside
        the model. The model is exported in eval mode on the CPU.
        """
        import torch

        model = model.eval().cpu()
        example = example_input.detach().cpu().clone()  # a slice would drag its whole tensor into the file
        if example.shape[0] < 2:
            example = torch.cat([example, example])
        batch = torch.export.Dim("batch", min=1, max=1 << 16)
        with torch.no_grad():
            try:
                program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
            except Exception as exc:
                if "batch" not in str(exc):
                    raise
                raise RuntimeError(
                    f"{name}: the model's forward fixes the batch size, so the graders could not feed it their own "
                    "batches. Use x.flatten(1) or x.view(x.size(0), -1), not len(x) or a number, to flatten.") from exc
        buffer = io.BytesIO()   # measured in memory first: see _check_size
        torch.export.save(program, buffer)
        _write_bytes(self.dir / f"{name}.pt2", name, buffer.getvalue())
        n_params = sum(p.numel() for p in model.parameters())
        print(f"[submitted] model {name}: {n_params:,} parameters, input {tuple(example.shape[1:])}")

    def state_dict(self, name: str, model) -> None:
        import torch

        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        buffer = io.BytesIO()
        torch.save(state, buffer)
        _write_bytes(self.dir / f"{name}.pt", name, buffer.getvalue())
        print(f"[submitted] state_dict {name}: {len(state)} tensors")

    def arrays(self, name: str, **arrays) -> None:
        import numpy as np

        plain = {k: (v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)) for k, v in arrays.items()}

        buffer = io.BytesIO()
        np.savez_compressed(buffer, **plain)
        _write_bytes(self.dir / f"{name}.npz", name, buffer.getvalue(), "submit fewer or smaller arrays (float32, fewer points)")
        print(f"[submitted] arrays {name}: {', '.join(f'{k}{v.shape}' for k, v in plain.items())}")
