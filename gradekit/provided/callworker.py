"""Runs inside the sandbox: load a notebook's definitions once, then make the calls asked for (functions
of the notebook, or a grader's probe of them), request after request, and write what they returned.

Standalone on purpose (stdlib, numpy, torch only): the sandbox has no view of gradekit. Results leave
as JSON and a numpy .npz, never as pickled objects, so nothing the student built crosses back.
"""
import json
import os
import sys
import traceback

import numpy as np


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
    exec(compile(open("definitions.py").read(), "notebook", "exec"), namespace)
    return namespace


def handle(n: str, namespace: dict) -> None:
    """Request n: request_n.json and args_n.npz in, result_n.json and result_n.npz out."""
    request = json.load(open(f"request_{n}.json"))
    with np.load(f"args_{n}.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}

    def decode(arg):
        if isinstance(arg, dict) and "__exported__" in arg:  # a model from the grader, as a torch.export program
            import torch
            return _eval_only(torch.export.load(arg["__exported__"]).module())
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
    np.savez(f"result_{n}.npz", **out)
    json.dump({"ok": True, "calls": calls}, open(f"result_{n}.json", "w"))


def serve() -> None:
    """One process for all of a grading session's calls (Python, torch and the notebook's imports load
    once). Each line on stdin names a request; its number goes back on the protocol channel when the
    result files are written. The student's own prints go to stderr, never into the protocol."""
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    try:
        namespace, broken = _load_definitions(), None
    except BaseException as exc:  # every request then answers with why the definitions did not load
        namespace, broken = {}, exc
    for line in sys.stdin:
        n = line.strip()
        try:
            if broken is not None:
                raise broken
            handle(n, namespace)
        except BaseException as exc:  # SystemExit too: the grader needs a reason, not silence
            json.dump({"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}",
                       "traceback": traceback.format_exc()[-2000:]}, open(f"result_{n}.json", "w"))
        protocol.write(n + "\n")


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
