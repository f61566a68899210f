"""Runs inside the sandbox: load a notebook's definitions once, then make the calls asked for (functions
of the notebook, or a grader's probe of them), request after request, and write what they returned.

Standalone on purpose (stdlib, numpy, torch only): the sandbox has no view of gradekit. Requests arrive
and results leave as length-prefixed frames on stdin and stdout (JSON, then a numpy .npz), never as
pickled objects and never as files, so nothing the student built crosses back and no file is shared.
Its code folder is read-only; it works in the sandbox's private /tmp.
"""
import io
import json
import os
import struct
import sys
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FRAME = struct.Struct(">Q")


def _to_array(value, where):
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor, checked by duck type only
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"{where} is an array of dtype {value.dtype}, not numbers")
        return np.array(value)  # a plain ndarray, never a subclass
    if type(value) in (int, float, bool) or isinstance(value, np.generic):
        return np.asarray(value)
    raise TypeError(f"{where} is a {type(value).__name__}, not a tensor, array or number")


def _eval_only(module):
    """A grader's model, exported in eval mode. Students call .eval() on it, which exported modules
    refuse; here train() and eval() are accepted and change nothing."""
    import torch

    class EvalOnly(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args, **kwargs):
            return self.inner(*args, **kwargs)

        def train(self, mode=True):
            return self

    return EvalOnly(module)


def _load_definitions() -> dict:
    namespace = {"__name__": "student_definitions"}
    with open(os.path.join(HERE, "definitions.py")) as f:
        exec(compile(f.read(), "notebook", "exec"), namespace)
    return namespace


def _read_frame(stream) -> bytes:
    header = stream.read(FRAME.size)
    if len(header) < FRAME.size:
        raise EOFError
    (size,) = FRAME.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return data


def _write_frames(protocol, *payloads: bytes) -> None:
    for payload in payloads:
        protocol.write(FRAME.pack(len(payload)) + payload)
    protocol.flush()


def _npz(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def handle(request: dict, arrays: dict, namespace: dict) -> tuple[dict, dict]:
    """One request -> (status, result arrays)."""

    def decode(arg):
        if isinstance(arg, dict) and "__exported__" in arg:  # a model from the grader, as a torch.export program
            import tempfile

            import torch
            with tempfile.NamedTemporaryFile(suffix=".pt2", dir="/tmp" if os.path.isdir("/tmp") else None) as f:
                f.write(arrays[arg["__exported__"]].tobytes())
                f.flush()
                return _eval_only(torch.export.load(f.name).module())
        if isinstance(arg, dict) and "__image__" in arg:  # a PIL image from the grader, sent as its pixels
            from PIL import Image
            return Image.fromarray(arrays[arg["__image__"]])
        if isinstance(arg, dict) and "__array__" in arg:
            value = arrays[arg["__array__"]]
            if arg.get("torch"):
                import torch
                return torch.from_numpy(value.copy())
            return value.copy()  # each call gets its own copy: one call's in-place edits never reach the next
        return arg

    out, calls = {}, []
    for j, call in enumerate(request["calls"]):
        try:
            calls.append(_one_call(j, call, namespace, decode, out))
        except BaseException as exc:  # one failing call does not hide the others' results
            calls.append({"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}",
                          "traceback": traceback.format_exc()[-2000:]})
    return {"ok": True, "calls": calls}, out


def serve() -> None:
    """One process for all of a grading session's calls (Python, torch and the notebook's imports load
    once): started with the modules to import (argv), it waits for one frame (the definitions are there),
    then a request is two frames on stdin, its answer two frames on the protocol channel. The student's
    own prints go to stderr, never into the protocol."""
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    if os.path.isdir("/tmp"):
        os.chdir("/tmp")   # the sandbox's private tmpfs: a function that writes files writes there
    for name in sys.argv[1:]:   # the assignment's heavy modules, before anyone's code: made ready ahead
        try:
            __import__(name)
        except Exception:
            pass   # the definitions' own import reports it
    try:   # the go: the trusted side has written definitions.py into the (read-only) code folder
        _read_frame(requests)
    except EOFError:
        return
    try:
        namespace, broken = _load_definitions(), None
    except BaseException as exc:  # every request then answers with why the definitions did not load
        namespace, broken = {}, exc
    while True:
        try:
            request = json.loads(_read_frame(requests))
            with np.load(io.BytesIO(_read_frame(requests)), allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except EOFError:
            return
        try:
            if broken is not None:
                raise broken
            status, out = handle(request, arrays, namespace)
        except BaseException as exc:  # SystemExit too: the grader needs a reason, not silence
            status, out = {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}",
                           "traceback": traceback.format_exc()[-2000:]}, {}
        _write_frames(protocol, json.dumps(status).encode(), _npz(out))


def _one_call(j, call, namespace, decode, out):
    """Call j: a function of the notebook, or a grader's probe (its source; called with the notebook's
    namespace first). Results go into `out` as c{j}_out{i}; a None result is listed, not stored."""
    if call.get("probe"):
        probe_ns = {"__name__": "grader_probe"}
        exec(compile(call["probe"], "grader probe", "exec"), probe_ns)
        probe = probe_ns[call["function"]]
        fn = lambda *a, **k: probe(namespace, *a, **k)  # noqa: E731
    else:
        fn = namespace.get(call["function"])
        if not callable(fn):
            raise NameError(f"the notebook defines no function {call['function']}")
    args = [decode(a) for a in call["args"]]
    kwargs = {k: decode(v) for k, v in call["kwargs"].items()}
    result = fn(*args, **kwargs)
    outputs = list(result) if isinstance(result, tuple) else [result]
    for _ in range(call.get("repeat", 1) - 1):  # the same call again in this process: is it random?
        outputs.append(fn(*args, **kwargs))
    nones = [i for i, v in enumerate(outputs) if v is None]
    for i, v in enumerate(outputs):
        if v is not None:
            out[f"c{j}_out{i}"] = _to_array(v, f"return value {i}" if len(outputs) > 1 else "the return value")
    if call.get("inputs_after"):  # the array arguments as the call left them: did it write into them?
        for i, (given, value) in enumerate(zip(call["args"], args)):
            if isinstance(given, dict) and "__array__" in given:
                out[f"c{j}_in{i}"] = _to_array(value, f"argument {i}")
    return {"ok": True, "count": len(outputs), "none": nones}


if __name__ == "__main__":
    serve()
