"""Loading a student's torch.export program (.pt2) in the trusted grader without running anything of theirs.

`torch.export.load` is not safe on untrusted bytes: it unpickles any weight or constant marked
`use_pickle` (weights_only=False), falls back to weights_only=False for the example inputs, resolves node
targets by walking attributes from `torch` (so `torch.os.system` is a valid target), hands shape
expressions to sympy.sympify (an eval), and compiles `guards_code` strings. So the archive is never given
to it as the student wrote it. Instead:

1. the zip's entry count and unpacked size are bounded before anything is unpacked;
2. only the members a program needs are kept, each by an exact name pattern;
3. the weight and constant configs must describe raw tensors only (no pickled entry, no script or
   opaque object);
4. the program's JSON is walked: every node target must be an ATen/prims operator (a few file, print and
   storage operators refused) or one of the symbolic-shape helpers; every shape expression must use the
   sympy vocabulary of export's own shapes; guards_code must be empty; node metadata (stack traces,
   module paths: strings the codegen would print) is dropped;
5. a fresh archive is built in memory from the checked pieces, with no example inputs (the only pickle
   a program carries), and loaded while torch.load is forced to weights_only=True and pickle refuses;
6. the loaded graph is checked again: every call is an operator overload of those namespaces.

A refusal is the student's BadArtifact with the reason; nothing of the archive ran.
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import threading
import zipfile

from gradekit.grading.failures import BadArtifact
from gradekit.platform.untrusted import UntrustedData, load_json, open_zip, read_member

MAX_ENTRIES = 4096
_MEMBER = re.compile(r"^(archive_format|archive_version|byteorder|\.data/version|\.data/serialization_id|"
                     r"models/model\.json|data/weights/model_weights_config\.json|"
                     r"data/constants/model_constants_config\.json|data/weights/weight_\d+|"
                     r"data/constants/tensor_\d+|data/sample_inputs/model\.pt)$")
_OP = re.compile(r"^torch\.ops\.(aten|prims)\.([a-z_][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)$")
_SYMBOLIC = re.compile(r"^(_operator\.(getitem|add|sub|mul|floordiv|truediv|mod|neg|pow|eq|ne|lt|le|gt|ge|and_|or_|not_)"
                       r"|torch\.(sym_int|sym_float|sym_max|sym_min|sym_not|sym_ite|sym_sqrt|_sym_sqrt)"
                       r"|math\.(ceil|floor|trunc|sqrt))$")
# operators that reach files, print, or re-point storage: no model needs them to compute its outputs
_REFUSED_OPS = {"from_file", "save", "_print", "warn", "record_stream", "set_", "set_data", "_test_warn_in_autograd",
                "_cufft_set_plan_cache_max_size", "_cufft_clear_plan_cache"}
_EXPR_WORDS = {"Symbol", "Integer", "Rational", "Float", "Add", "Mul", "Pow", "Mod", "Max", "Min", "Abs", "Eq", "Ne",
               "Lt", "Le", "Gt", "Ge", "StrictLessThan", "StrictGreaterThan", "LessThan", "GreaterThan", "Equality",
               "Unequality", "And", "Or", "Not", "true", "false", "True", "False", "oo", "zoo", "nan", "FloorDiv",
               "ModularIndexing", "Where", "PythonMod", "CleanDiv", "CeilToInt", "FloorToInt", "CeilDiv", "LShift",
               "RShift", "TruncToInt", "TruncToFloat", "IntTrueDiv", "FloatTrueDiv", "ToFloat", "OpaqueUnaryFn_sqrt",
               "BooleanAtom", "positive", "integer", "real", "nonnegative", "finite", "rational", "negative"}
_EXPR_CHARS = re.compile(r"^[A-Za-z0-9_ ,()'=.+\-*/]*$")
_SYMBOL_NAME = re.compile(r"^[sud]\d+$")


def load(data: bytes, name: str, max_unpacked: int):
    """The checked program, as a torch ExportedProgram. Raises BadArtifact with the reason."""
    what = f"model '{name}'"
    try:
        members = _checked_members(data, what, max_unpacked)
        program = _load_guarded(_rebuild(members))
    except UntrustedData as exc:
        raise BadArtifact(str(exc)) from None
    except BadArtifact:
        raise
    except Exception as exc:   # torch's own refusal of a malformed program
        raise BadArtifact(f"{what} could not be loaded as a torch.export program: {type(exc).__name__}") from None
    _check_graph(program, what)
    return program


def _checked_members(data: bytes, what: str, max_unpacked: int) -> dict[str, bytes]:
    archive = open_zip(data, what, MAX_ENTRIES, max_unpacked)
    roots = {e.filename.split("/", 1)[0] for e in archive.infolist()}
    if len(roots) != 1:
        raise UntrustedData(f"{what} is not a torch.export archive (several top folders)")
    root = roots.pop()
    members = {}
    for entry in archive.infolist():
        relative = entry.filename[len(root) + 1:]
        if entry.is_dir() or not relative:
            continue
        if not _MEMBER.match(relative):
            raise UntrustedData(f"{what} holds {relative!r}, which a torch.export program of plain tensors never has "
                                "(pickled objects, other models or compiled code are refused)")
        members[relative] = read_member(archive, entry.filename, entry.file_size, what)
    for required in ("models/model.json", "data/weights/model_weights_config.json",
                     "data/constants/model_constants_config.json"):
        if required not in members:
            raise UntrustedData(f"{what} is not a torch.export archive ({required} is missing)")
    for config_name, prefix in (("data/weights/model_weights_config.json", "weight_"),
                                ("data/constants/model_constants_config.json", "tensor_")):
        config = load_json(members[config_name], f"{what}: {config_name}")
        entries = config.get("config") if isinstance(config, dict) else None
        if not isinstance(entries, dict):
            raise UntrustedData(f"{what}: {config_name} is malformed")
        for fqn, meta in entries.items():
            if not isinstance(meta, dict) or meta.get("use_pickle") is not False or meta.get("tensor_meta") is None:
                raise UntrustedData(f"{what}: tensor {str(fqn)[:60]!r} is stored as a pickle; the graders read raw "
                                    "tensors only (export the model with plain torch tensors)")
            if not re.fullmatch(prefix + r"\d+", str(meta.get("path_name", ""))):
                raise UntrustedData(f"{what}: tensor {str(fqn)[:60]!r} is not a plain tensor file")
    _check_program_json(load_json(members["models/model.json"], f"{what}: models/model.json", max_depth=200), what)
    return members


def _check_program_json(program, what: str) -> None:
    if not isinstance(program, dict) or not isinstance(program.get("graph_module"), dict):
        raise UntrustedData(f"{what}: models/model.json is not a serialized program")
    if program.get("guards_code"):
        raise UntrustedData(f"{what} carries guard code; the graders load programs without code")
    for key in program.get("range_constraints", {}) or {}:
        if not _SYMBOL_NAME.match(str(key)):
            raise UntrustedData(f"{what}: a shape symbol {str(key)[:40]!r} is malformed")
    stack = [program]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack += item
            continue
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if key == "target":
                _check_target(value, what)
            elif key == "expr_str":
                _check_expression(value, what)
            elif key in ("as_custom_obj", "as_custom_objs", "custom_obj", "as_opaque_obj"):
                raise UntrustedData(f"{what} uses script objects; the graders load plain tensor programs only")
            stack.append(value)


def _check_target(target, what: str) -> None:
    if not isinstance(target, str):
        raise UntrustedData(f"{what}: a graph node has a malformed target")
    op = _OP.match(target)
    if op and op.group(2) not in _REFUSED_OPS and "__" not in target:
        return
    if _SYMBOLIC.match(target):
        return
    raise UntrustedData(f"{what} calls {target[:80]!r}; the graders run ATen operators only")


def _check_expression(expr, what: str) -> None:
    ok = isinstance(expr, str) and len(expr) < 2000 and _EXPR_CHARS.match(expr) and "__" not in expr
    if ok:
        quoted = re.findall(r"'([^']*)'", expr)
        words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", re.sub(r"'[^']*'", "", expr))
        ok = all(_SYMBOL_NAME.match(q) for q in quoted) and all(w in _EXPR_WORDS for w in words)
    if not ok:
        raise UntrustedData(f"{what}: a shape expression is not one torch.export writes")


def _rebuild(members: dict[str, bytes]) -> bytes:
    """A fresh archive of the checked members: node metadata dropped, no example inputs."""
    program = json.loads(members["models/model.json"])
    for node in program["graph_module"]["graph"].get("nodes", []):
        if isinstance(node, dict):
            node["metadata"] = {}
    rebuilt = dict(members, **{"models/model.json": json.dumps(program).encode(), "data/sample_inputs/model.pt": b""})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as out:
        for name, content in rebuilt.items():
            out.writestr(f"archive/{name}", content)
    return buffer.getvalue()


_GUARD = threading.Lock()


@contextlib.contextmanager
def _no_pickles():
    """While a program loads: torch.load reads weights only, and pickle refuses outright (a second line of
    defence behind the member checks above)."""
    import pickle

    import torch

    def refuse(*_, **__):
        raise UntrustedData("the model asks for a pickle, which the graders never load")

    def weights_only(f, *args, **kwargs):
        kwargs["weights_only"] = True
        return original_load(f, *args, **kwargs)

    with _GUARD:
        original_load, saved = torch.load, (pickle.loads, pickle.load, torch._C._pickle_load_obj)
        torch.load, pickle.loads, pickle.load, torch._C._pickle_load_obj = weights_only, refuse, refuse, refuse
        try:
            yield
        finally:
            torch.load = original_load
            pickle.loads, pickle.load, torch._C._pickle_load_obj = saved


def _load_guarded(archive: bytes):
    import torch

    with _no_pickles():
        return torch.export.load(io.BytesIO(archive))


def _check_graph(program, what: str) -> None:
    import operator

    import torch

    allowed_python = {operator.getitem, operator.add, operator.sub, operator.mul, operator.floordiv,
                      operator.truediv, operator.mod, operator.neg, operator.eq, operator.ne, operator.lt,
                      operator.le, operator.gt, operator.ge, torch.sym_int, torch.sym_float, torch.sym_max,
                      torch.sym_min, torch.sym_not}
    for node in program.graph.nodes:
        if node.op in ("placeholder", "output"):
            continue
        target = node.target
        if node.op == "call_function" and (
                (isinstance(target, torch._ops.OpOverload) and target.namespace in ("aten", "prims"))
                or target in allowed_python):
            continue
        raise BadArtifact(f"{what} has a graph node ({node.op} {str(target)[:60]}) that is not an ATen operator")
