"""What a grader makes public about its item: the evidence it needs and its form, never a value it expects.

Next to the item, in the grader file:

    @pytest.mark.item("q2.forward", points=3)
    @pytest.mark.public(numbers("q2.hidden", 2), numbers("q2.output", 2))

`gradekit release` writes these into the release (`gradekit_checks.json`), and the student's `submit.check()`
checks them in the notebook: the answer is there and has this form, the model exports, reloads, takes a
batch of this shape and fits under the file limit, the function runs on this public example. A `function`'s
example and `value` must be ones the release already shows: they are shipped to every student.
"""
from __future__ import annotations

import math


def _shape(shape) -> list | None:
    return None if shape is None else [None if d is None else int(d) for d in shape]


def full(shape, value: float) -> dict:
    """An argument of `function`: an array of this shape filled with `value` (float32)."""
    return {"full": _shape(shape), "value": float(value)}


def number(key: str) -> dict:
    return {"kind": "number", "key": key}


def integer(key: str) -> dict:
    """A whole number given as one (an int, not 7.0)."""
    return {"kind": "integer", "key": key}


def numbers(key: str, length: int) -> dict:
    return {"kind": "numbers", "key": key, "length": int(length)}


def mapping(key: str, keys) -> dict:
    return {"kind": "mapping", "key": key, "keys": [str(k) for k in keys]}


def array(key: str, shape) -> dict:
    """Numbers in nested lists of this shape (() for one number)."""
    return {"kind": "array", "key": key, "shape": _shape(shape)}


def text(key: str) -> dict:
    return {"kind": "text", "key": key}


def answer(key: str) -> dict:
    """An answer of any JSON form (its grader checks the form itself)."""
    return {"kind": "answer", "key": key}


def model(name: str, input_shape, outputs: int | None = None) -> dict:
    """An exported model (`submit.model`) that takes a batch of `input_shape` (one example's shape) and
    returns `outputs` values per example when given (10 logits; 784 for a 28x28 image, any layout)."""
    return {"kind": "model", "name": name, "input": _shape(input_shape), "outputs": outputs}


def state_dict(name: str, keys=()) -> dict:
    return {"kind": "state_dict", "name": name, "keys": [str(k) for k in keys]}


def arrays(name: str, **shapes) -> dict:
    """Arrays (`submit.arrays`) by name with their shapes; None is any length along that axis, a shape of
    None any shape."""
    return {"kind": "arrays", "name": name, "shapes": {k: _shape(v) for k, v in shapes.items()}}


def defined(name: str) -> dict:
    """A function or class the notebook defines, not called (its inputs cannot travel as a public example:
    a model, a dataset)."""
    return {"kind": "defined", "name": name}


def function(name: str, *args, torch_args: bool = False, shape=None, returns: str = "array", value=None) -> dict:
    """A function of the notebook called on a public example: lists and `full(...)` become numpy arrays
    (tensors with `torch_args`); the result must be an array of `shape`, or a number ("number"; "number or
    None" where the spec allows None), and `value` when the release shows it."""
    if returns not in ("array", "number", "number or None"):
        raise ValueError("returns must be 'array', 'number' or 'number or None'")
    if value is not None and not all(math.isfinite(v) for v in _flat(value)):
        raise ValueError("a public value must be finite numbers")
    return {"kind": "function", "name": name, "args": list(args), "torch_args": torch_args,
            "shape": None if shape is None else _shape(shape), "returns": returns, "value": value}


def _flat(value):
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _flat(v)
    else:
        yield float(value)
