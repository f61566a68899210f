"""`submit.check()`: before you submit, whether the grader will find each item's evidence in the form it
needs. Provided with the assignment, with `gradekit_checks.json` (the graders' public checks).

"ready" means the evidence is there and well formed: never that it is right. The checks hold no expected
value and no hidden input; a `function` check calls your function on an example the release already shows.
Only public packages are used (numpy; torch for models), so it runs the same in Jupyter, Colab or the grader.
"""
from __future__ import annotations

import json
import math
import numbers
import time
from pathlib import Path

CHECKS_FILE = "gradekit_checks.json"


class Problem(Exception):
    """The evidence is missing or malformed: the message says what to do."""


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def _answer(answers: dict, ev: dict):
    key = ev["key"]
    if key not in answers:
        raise Problem(f"answer '{key}' was not submitted: call submit.answer(\"{key}\", ...)")
    value, kind = answers[key], ev["kind"]
    if kind == "number" and not _is_number(value):
        raise Problem(f"answer '{key}' must be one finite number (found {type(value).__name__})")
    if kind == "integer" and not (isinstance(value, int) and not isinstance(value, bool)):
        raise Problem(f"answer '{key}' must be a whole number, given as an int (found {value!r:.40})")
    if kind == "numbers" and not (isinstance(value, list) and len(value) == ev["length"] and all(map(_is_number, value))):
        raise Problem(f"answer '{key}' must be a list of {ev['length']} finite numbers")
    if kind == "mapping":
        if not isinstance(value, dict):
            raise Problem(f"answer '{key}' must be a dict with keys {', '.join(ev['keys'])}")
        absent = [k for k in ev["keys"] if k not in value or not _is_number(value[k])]
        if absent:
            raise Problem(f"answer '{key}' lacks a number for {', '.join(absent)}")
    if kind == "array":
        import numpy as np
        try:
            shape = np.asarray(value, dtype=float).shape
        except (TypeError, ValueError):
            raise Problem(f"answer '{key}' must be numbers (nested lists)") from None
        if not _fits(shape, ev["shape"]):
            raise Problem(f"answer '{key}' has shape {shape}; the grader expects {tuple(ev['shape'])}")
    if kind == "text" and not (isinstance(value, str) and value.strip()):
        raise Problem(f"answer '{key}' must be text")


def _file(folder: Path, name: str, suffix: str, submit: str, limit_mb) -> Path:
    path = folder / f"{name}{suffix}"
    if not path.is_file():
        raise Problem(f"{name} was not submitted: call {submit}(\"{name}\", ...)")
    size = path.stat().st_size
    if limit_mb and size > limit_mb * (1 << 20):
        raise Problem(f"{name} is {size / (1 << 20):.1f} MB; the grader accepts files up to {limit_mb} MB")
    return path


def _model(folder: Path, ev: dict, limit_mb):
    import torch
    path = _file(folder, ev["name"], ".pt2", "submit.model", limit_mb)
    try:
        program = torch.export.load(str(path))
        with torch.no_grad():
            out = program.module()(torch.rand(2, *ev["input"]))
    except Exception as exc:   # noqa: BLE001 - any failure is the student's to read
        raise Problem(f"model {ev['name']} does not take a batch of shape (N, {', '.join(map(str, ev['input']))}): "
                      f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}") from None
    shape = tuple(getattr(out, "shape", ()))
    if ev.get("outputs") and (not shape or shape[0] != 2 or out[0].numel() != ev["outputs"]):
        raise Problem(f"model {ev['name']} returns shape {shape} for a batch of 2; the grader expects "
                      f"{ev['outputs']} values per example")


def _state_dict(folder: Path, ev: dict, limit_mb):
    import torch
    path = _file(folder, ev["name"], ".pt", "submit.state_dict", limit_mb)
    state = torch.load(str(path), weights_only=True, map_location="cpu")
    absent = [k for k in ev["keys"] if k not in state]
    if absent:
        raise Problem(f"state_dict {ev['name']} lacks {', '.join(absent[:5])}: the architecture differs from the one asked")


def _fits(shape, wanted) -> bool:
    if wanted is None:
        return True
    return len(shape) == len(wanted) and all(w is None or s == w for s, w in zip(shape, wanted))


def _arrays(folder: Path, ev: dict, limit_mb):
    import numpy as np
    path = _file(folder, ev["name"], ".npz", "submit.arrays", limit_mb)
    with np.load(path, allow_pickle=False) as found:
        for key, wanted in ev["shapes"].items():
            if key not in found.files:
                raise Problem(f"arrays {ev['name']} has no '{key}' (it has {', '.join(found.files) or 'nothing'})")
            if not _fits(found[key].shape, wanted):
                want = "(" + ", ".join("any" if w is None else str(w) for w in wanted) + ")"
                raise Problem(f"arrays {ev['name']}: '{key}' has shape {found[key].shape}; the grader expects {want}")


def _argument(value, torch_args: bool):
    import numpy as np
    if isinstance(value, dict) and "full" in value:
        array = np.full(value["full"], value["value"], dtype=np.float32)
    elif isinstance(value, list):
        array = np.asarray(value, dtype=np.float32 if any(isinstance(v, float) for v in np.ravel(value)) else None)
    else:
        return value
    if torch_args:
        import torch
        return torch.from_numpy(array)
    return array


def _defined(namespace: dict, ev: dict):
    found = namespace.get(ev["name"])
    if not callable(found):
        raise Problem(f"no function {ev['name']}() is defined in the notebook")
    if _is_stub(getattr(found, "__code__", None)):
        raise Problem(f"{ev['name']}() is still the release's stub (it raises NotImplementedError)")


def _is_stub(code) -> bool:
    """nbgrader's stub, `raise NotImplementedError()` and nothing else (a handful of instructions)."""
    import dis
    return (code is not None and tuple(code.co_names) == ("NotImplementedError",)
            and len(list(dis.get_instructions(code))) <= 8)


def _function(namespace: dict, ev: dict):
    import numpy as np
    name = ev["name"]
    _defined(namespace, ev)
    try:
        result = namespace[name](*(_argument(a, ev["torch_args"]) for a in ev["args"]))
    except Exception as exc:   # noqa: BLE001
        why = f": {str(exc)[:200]}" if str(exc) else ""
        raise Problem(f"{name}(...) raised {type(exc).__name__} on the release's example{why}") from None
    if hasattr(result, "detach"):
        result = result.detach().cpu().numpy()
    if ev["returns"] != "array":
        if result is None and ev["returns"] == "number or None":
            return
        if not _is_number(result if not hasattr(result, "item") else result.item()):
            raise Problem(f"{name}(...) must return one number" + (" or None" if ev["returns"] == "number or None" else ""))
        return
    array = np.asarray(result)
    if ev["shape"] is not None and not _fits(array.shape, ev["shape"]):
        raise Problem(f"{name}(...) returned shape {array.shape} on the release's example; expected {tuple(ev['shape'])}")
    if ev.get("value") is not None and not np.allclose(array, np.asarray(ev["value"]), rtol=1e-3, atol=1e-6):
        raise Problem(f"{name}(...) on the release's example does not give the value the release shows")


def check_item(item: dict, folder: Path, answers: dict, namespace: dict, limit_mb) -> list[str]:
    problems = []
    for ev in item["evidence"]:
        try:
            if ev["kind"] in ("number", "integer", "numbers", "mapping", "array", "text", "answer"):
                _answer(answers, ev)
            elif ev["kind"] in ("function", "defined"):
                (_function if ev["kind"] == "function" else _defined)(namespace, ev)
            else:
                {"model": _model, "state_dict": _state_dict, "arrays": _arrays}[ev["kind"]](folder, ev, limit_mb)
        except Problem as problem:
            problems.append(str(problem))
    return problems


def _chosen(items: list[dict], which: str | None) -> list[dict]:
    """All items, or those whose id is `which` or starts with it and a separator ("q2" -> q2.forward, q2_x)."""
    if not which:
        return items
    return [i for i in items if i["id"] == which or i["id"][len(which):len(which) + 1] in (".", "_", "-", ":")
            and i["id"].startswith(which)]


class Report(dict):
    """item -> "ready", "no public check" or its problems; shown as one line where a notebook prints it."""

    def __repr__(self) -> str:
        ready = sum(v == "ready" for v in self.values())
        return f"<self-check: {ready} of {len(self)} items ready>"


def _say_variant(namespace: dict) -> None:
    """An assignment with per-student numbers: whose numbers this notebook works with."""
    if "VARIANT_SEED" not in namespace:
        return
    seed, values = namespace.get("VARIANT_SEED"), namespace.get("VARIANT")
    if not seed:
        print("  your variant: VARIANT_SEED is 0, the printed example's numbers: set your own seed (the course gives "
              "it to you) in the parameters cell; the grader uses yours")
        return
    shown = f": {json.dumps(values, sort_keys=True)[:300]}" if isinstance(values, dict) else ""
    print(f"  your variant: seed {seed} (student {namespace.get('STUDENT_ID') or '?'}){shown}")


def run(folder, namespace: dict, which: str | None = None, checks_dir=None) -> Report:
    """Check the items (all, or those `which` names) and print a line per item."""
    here = Path(checks_dir) if checks_dir else Path(__file__).parent
    path = here / CHECKS_FILE
    if not path.is_file():
        print(f"self-check: no {CHECKS_FILE} here: it comes with the release (the grader's own run does not use it)")
        return Report()
    checks = json.loads(path.read_text())
    folder = Path(folder)
    answers_path = folder / "answers.json"
    answers = json.loads(answers_path.read_text()) if answers_path.is_file() else {}
    items = _chosen(checks["items"], which)
    if not items:
        print(f"self-check: no item is called {which!r} (items: {', '.join(i['id'] for i in checks['items'])})")
    started, report = time.time(), Report()
    _say_variant(namespace)
    width = max((len(i["id"]) for i in items), default=0)
    for item in items:
        problems = check_item(item, folder, answers, namespace, checks.get("file_limit_mb")) if item["evidence"] else None
        report[item["id"]] = "no public check" if problems is None else ("; ".join(problems) or "ready")
        print(f"  {item['id']:<{width}}  {report[item['id']]}")
    print(f"self-check of {checks['assignment']}: {sum(v == 'ready' for v in report.values())} of {len(items)} items "
          f"ready ({time.time() - started:.1f} s). Ready means found and well formed, not right.")
    return report
