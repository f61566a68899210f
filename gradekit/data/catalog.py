"""Datasets are declared by the course, never named by the engine.

A course declares the datasets its assignments share in `datasets/datasets.toml`; an assignment may
declare its own in `source/<A>/assignment.toml` under `[dataset.<name>]`, and lists what it uses in
`datasets = [...]`. A declaration says what the files are, how to check them, where they come from, the
split the graders use, and how `gradekit data synth` writes a stand-in. Code a declaration needs (a
stand-in generator, a recipe that builds a course file, a grader split that torchvision cannot give) is a
function in a Python file beside the declaring TOML, named "file.py:function".

Kinds (keys each one reads):

    torchvision  loader = class in torchvision.datasets; root = folder under DATA_ROOT handed to it ("");
                 files = {path: "md5:<hex>"}; splits = [{loader kwargs}, ...] (what fetch prepares and the
                 preflight loads); test_split = {loader kwargs}
    folder       path = folder under DATA_ROOT; tree_md5 = digest of the tree; url = a zip (optional)
    weights      model = function in torchvision.models; path = the .pth under DATA_ROOT; sha256 = its
                 digest or prefix; url (optional); standin = "random-init" for the built-in stand-in
    files        files = {path: "md5:<hex>" | "sha256:<hex>"}; recipe = "file.py:function" that builds
                 them from `inputs` (other datasets), or url / a mirror to copy them from

Any kind: description, standin = "file.py:function" (writes files in the real format, returns their
paths), standin_note (what the stand-in is), test_split = "file.py:function" (returns (X, y) tensors).
"""
from __future__ import annotations

import importlib.util
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from gradekit.errors import DeclarationError

KINDS = ("torchvision", "folder", "weights", "files")
COURSE_FILE = Path("datasets") / "datasets.toml"
BUILTIN_RANDOM_INIT = "random-init"

_KEYS = {"kind", "description", "loader", "model", "root", "path", "files", "splits", "tree_md5", "sha256",
         "url", "standin", "standin_note", "recipe", "inputs", "test_split"}


@dataclass(frozen=True)
class Dataset:
    name: str
    kind: str
    origin: Path                      # the folder of the declaring file: "file.py:function" is found there
    description: str = ""
    loader: str = ""
    model: str = ""
    root: str = ""
    path: str = ""
    files: dict[str, str] = field(default_factory=dict)
    splits: tuple[dict, ...] = ()
    tree_md5: str = ""
    sha256: str = ""
    url: str = ""
    standin: str = ""
    standin_note: str = ""
    recipe: str = ""
    inputs: tuple[str, ...] = ()
    test_split: dict | str = field(default_factory=dict)

    @classmethod
    def from_table(cls, name: str, table: dict, origin: Path, source: Path) -> "Dataset":
        unknown = sorted(set(table) - _KEYS)
        if unknown:
            raise DeclarationError(f"{source}: dataset {name!r} has unknown keys {unknown} (known: {sorted(_KEYS)})")
        kind = table.get("kind")
        if kind not in KINDS:
            raise DeclarationError(f"{source}: dataset {name!r} needs kind = one of {', '.join(KINDS)}")
        needs = {"torchvision": ("loader", "files"), "folder": ("path", "tree_md5"), "weights": ("model", "path"),
                 "files": ("files",)}[kind]
        absent = [k for k in needs if not table.get(k)]
        if absent:
            raise DeclarationError(f"{source}: dataset {name!r} of kind {kind} needs {', '.join(absent)}")
        values = dict(table)
        values["splits"] = tuple(values.get("splits", ()))
        values["inputs"] = tuple(values.get("inputs", ()))
        return cls(name=name, origin=origin, **values)

    def function(self, reference: str):
        """The function a "file.py:function" reference names, loaded from beside the declaration."""
        filename, _, funcname = reference.partition(":")
        path = self.origin / filename
        spec = importlib.util.spec_from_file_location(f"gradekit_course_{path.stem}_{abs(hash(path))}", path)
        if spec is None or not path.exists():
            raise DeclarationError(f"dataset {self.name!r}: {path} not found (from {reference!r})")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        try:
            return getattr(module, funcname)
        except AttributeError:
            raise DeclarationError(f"dataset {self.name!r}: {path} has no function {funcname!r}") from None

    def for_students(self) -> dict:
        """What the students' helper (gradekit_data.py) needs to load it: no checksums, no recipes."""
        keys = {"torchvision": ("loader", "root"), "folder": ("path",), "weights": ("model", "path", "sha256", "url"),
                "files": ("files",)}[self.kind]
        entry = {"kind": self.kind, **{k: getattr(self, k) for k in keys}}
        if self.kind == "files":
            entry["files"] = sorted(self.files)
        return entry


@dataclass(frozen=True)
class Catalog:
    datasets: dict[str, Dataset]

    @classmethod
    def read(cls, course_root: Path, assignment_tomls: list[tuple[Path, dict]] = (),
             uses: list[str] | None = None) -> "Catalog":
        """The course's declarations and those of the given assignments; restricted to `uses` if given."""
        found: dict[str, Dataset] = {}
        course_file = course_root / COURSE_FILE
        if course_file.exists():
            tables = tomllib.loads(course_file.read_text()).get("dataset", {})
            for name, table in tables.items():
                found[name] = Dataset.from_table(name, table, course_file.parent, course_file)
        for path, decl in assignment_tomls:
            for name, table in decl.get("dataset", {}).items():
                found[name] = Dataset.from_table(name, table, path.parent, path)
        if uses is None:
            return cls(found)
        undeclared = [n for n in uses if n not in found]
        if undeclared:
            where = f"{course_file} or the assignment's [dataset.<name>] tables"
            raise DeclarationError(f"datasets {undeclared} are used but not declared in {where}")
        return cls({n: found[n] for n in uses})

    def __iter__(self):
        return iter(self.datasets.values())

    def get(self, name: str) -> Dataset:
        try:
            return self.datasets[name]
        except KeyError:
            raise DeclarationError(f"unknown dataset {name!r}; declared: {', '.join(sorted(self.datasets)) or 'none'}") from None

    def manifest(self) -> dict:
        return {d.name: d.for_students() for d in self}
