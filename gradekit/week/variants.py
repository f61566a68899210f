"""`gradekit variants A`: every student of the roster and of submitted/ gets a stored variant before the
batch, and marks/A_variants.csv lists them for the staff to hand each student their seed (and values)."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from gradekit.course import Assignment
from gradekit.course.variants import Variant, VariantBook
from gradekit.errors import VariantError
from gradekit.platform import atomic
from gradekit.platform.untrusted import for_spreadsheet


def book_of(assignment: Assignment) -> VariantBook:
    book = assignment.variant_book()
    if book is None:
        raise VariantError(f"{assignment.name} declares no [variants] in assignment.toml")
    return book


def prepare(assignment: Assignment, students: list[str], reroll: list[str]) -> tuple[VariantBook, list[Variant]]:
    """Store a variant for each of `students` who has none, re-roll those of `reroll`; the book and what changed."""
    book = book_of(assignment)
    changed = book.ensure(students)
    changed += [book.reroll(s) for s in reroll]
    return book, changed


def write_csv(book: VariantBook, path: Path) -> Path:
    """student,seed,roll,values: one row per stored variant (values as JSON)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["student", "seed", "roll", "values"])
    for student, v in sorted(book.students.items()):
        writer.writerow([for_spreadsheet(student), v.seed, v.roll, for_spreadsheet(json.dumps(v.values, sort_keys=True))])
    atomic.write_text(path, out.getvalue())
    return path
