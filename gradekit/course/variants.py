"""Per-student variants: numbers that differ per student, so that copying a classmate's answers gives
wrong answers (`[variants]` of assignment.toml).

Each student's seed is an HMAC of the student and the assignment under the course's secret; the values are
made once from the seed by the assignment's own function and stored in variants/<A>.json, so a library
upgrade never changes a student's numbers (the runner injects the stored values; the graders read them).
One student's variant can be re-rolled: the roll enters the HMAC. Seed 0 is the assignment's printed
example: the values the notebook shows, and the ones the instructor's solution runs with.
"""
from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import math
import platform
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gradekit.errors import DeclarationError, VariantError
from gradekit.platform import atomic

PRINTED = 0           # the seed of the printed example
SECRET_FILE = Path(".gradekit") / "course_secret"


@dataclass(frozen=True)
class VariantPolicy:
    """`[variants]`: where the assignment's function is, and what of the assignment its values reach."""

    function: str = "variants.py:variant"   # <file in source/<A>/>:<function(seed) -> dict of JSON values>
    items: tuple[str, ...] = ()             # item ids (or prefixes ending in '*') whose answers depend on it
    tasks: tuple[str, ...] = ()             # the declared tasks that use it (`solve --variants` runs these)

    @classmethod
    def declared(cls, declaration: dict, where: str) -> "VariantPolicy | None":
        table = declaration.get("variants")
        if table is None:
            return None
        if not isinstance(table, dict) or set(table) - {"function", "items", "tasks"}:
            raise DeclarationError(f"{where}: [variants] takes function, items and tasks")
        function = table.get("function", cls.function)
        if not isinstance(function, str) or function.count(":") != 1 or not function.split(":")[0].endswith(".py"):
            raise DeclarationError(f"{where}: [variants] function must read 'file.py:name' (found {function!r})")
        lists = {k: table.get(k, []) for k in ("items", "tasks")}
        for key, value in lists.items():
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise DeclarationError(f"{where}: [variants] {key} must be a list of names")
        if not lists["items"]:
            raise DeclarationError(f"{where}: [variants] items must name the items whose answers depend on the variant")
        return cls(function, tuple(lists["items"]), tuple(lists["tasks"]))

    @property
    def module_file(self) -> str:
        return self.function.split(":")[0]

    def touches(self, item_id: str) -> bool:
        return item_matches(item_id, self.items)


def item_matches(item_id: str, patterns) -> bool:
    """An item id against ids and prefixes ending in '*'."""
    return any(item_id == p or (p.endswith("*") and item_id.startswith(p[:-1])) for p in patterns)


@dataclass(frozen=True)
class Variant:
    """One student's variant as stored: the values are never computed again."""

    student: str
    seed: int
    values: dict
    roll: int = 0
    made_with: str = ""     # the Python that computed the values

    def parameters(self) -> dict:
        """What the runner injects into the notebook's parameters."""
        return {"STUDENT_ID": self.student, "VARIANT_SEED": self.seed, "VARIANT": self.values}


def derive_seed(secret: bytes, assignment: str, student: str, roll: int = 0) -> int:
    """A 31-bit seed, never 0 (the printed example's)."""
    digest = hmac.new(secret, f"{assignment}\0{student}\0{roll}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") % (2**31 - 1) + 1


def course_secret(course_root: Path) -> bytes:
    """The course's secret, made on first use (keep it out of version control; losing it changes no stored
    variant, only the seeds of students not stored yet)."""
    path = course_root / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32) + "\n")
        path.chmod(0o600)
    return bytes.fromhex(path.read_text().strip())


def compute(source_dir: Path, policy: VariantPolicy, seed: int) -> dict:
    """The assignment's own function on `seed`; raises VariantError when it fails or gives what JSON cannot
    carry exactly (only plain numbers, strings, lists and dicts survive a library upgrade unchanged)."""
    path = source_dir / policy.module_file
    name = policy.function.split(":")[1]
    if not path.is_file():
        raise VariantError(f"[variants] function: {path} does not exist")
    spec = importlib.util.spec_from_file_location(f"gradekit_variants_{source_dir.name}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        values = getattr(module, name)(seed)
    except Exception as exc:   # the instructor's code: any failure is theirs to see
        raise VariantError(f"{policy.function}({seed}) failed: {type(exc).__name__}: {exc}") from None
    try:
        same = json.loads(json.dumps(values, allow_nan=False)) == values
    except (TypeError, ValueError):
        same = False
    if not isinstance(values, dict) or not same or not _finite(values):
        raise VariantError(f"{policy.function}({seed}) must return a dict of finite numbers, strings, lists and "
                           f"dicts (found {type(values).__name__}: {str(values)[:120]})")
    return values


def _finite(value) -> bool:
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return not isinstance(value, float) or math.isfinite(value)


@dataclass
class VariantBook:
    """variants/<A>.json: every student's stored variant."""

    path: Path
    source_dir: Path
    policy: VariantPolicy
    secret: bytes
    assignment: str
    students: dict[str, Variant] = field(default_factory=dict)

    @classmethod
    def open(cls, course_root: Path, assignment: str, policy: VariantPolicy) -> "VariantBook":
        path = course_root / "variants" / f"{assignment}.json"
        book = cls(path, course_root / "source" / assignment, policy, course_secret(course_root), assignment)
        if path.exists():
            data = json.loads(path.read_text())
            book.students = {s: Variant(**v) for s, v in data.get("students", {}).items()}
        return book

    def printed(self) -> Variant:
        return Variant("the printed example", PRINTED, compute(self.source_dir, self.policy, PRINTED))

    def make(self, student: str, roll: int = 0) -> Variant:
        """A variant from the course secret, not stored (for `solve --variants` and `try`)."""
        seed = derive_seed(self.secret, self.assignment, student, roll)
        return Variant(student, seed, compute(self.source_dir, self.policy, seed), roll, platform.python_version())

    def ensure(self, students: list[str]) -> list[Variant]:
        """Make and store the variants of students who have none; return the new ones."""
        new = [self.make(s) for s in students if s not in self.students]
        if new:
            self.students.update({v.student: v for v in new})
            self.save()
        return new

    def reroll(self, student: str) -> Variant:
        """A new variant for one student (the others keep theirs)."""
        if student not in self.students:
            raise VariantError(f"{student} has no stored variant of {self.assignment} to re-roll")
        self.students[student] = self.make(student, self.students[student].roll + 1)
        self.save()
        return self.students[student]

    def save(self) -> None:
        atomic.write_json(self.path, {"assignment": self.assignment, "function": self.policy.function,
                                      "students": {s: asdict(v) for s, v in sorted(self.students.items())}})
