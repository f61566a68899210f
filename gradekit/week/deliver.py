"""Feedback that reaches the students through their LMS: the zips an instructor uploads.

Moodle (mod/assign/feedback/file/importziplib.php): "Upload multiple feedback files in a zip" splits each
path part at `_` into `full name_participant id_plugin type_plugin name`, finds the participant by the number
and files the rest of the path as that student's feedback file. A folder
`<Full Name>_<participant>_assignfeedback_file/` per student, as Moodle 4.1 names its own folders.

Canvas (app/models/assignment.rb, infer_comment_context_from_filename): "Re-upload submissions" reads the
first two all-digit `_` parts of each file name as user id and attachment id; the attachment must be one
the student submitted, and the file becomes a comment on the submission shown under that attachment's
name. So each file carries the download's own name, and its content is in the same format: the student's
notebook as the grader ran it with the feedback as its first cell (a zip, for a zip handed in)."""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from gradekit.course import Assignment
from gradekit.lms import canvas
from gradekit.lms.moodle import clean_name
from gradekit.platform import atomic
from gradekit.platform.untrusted import MAX_NOTEBOOK_BYTES, UntrustedData, read_json
from gradekit.week.collect import Provenance
from gradekit.week.feedback import summary_markdown

FIXED_TIME = (2020, 1, 1, 0, 0, 0)   # the same feedback gives the same zip, byte for byte


@dataclass
class Delivery:
    path: Path
    delivered: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)   # "student: why"

    def lines(self) -> list[str]:
        out = [f"wrote {self.path} (feedback for {len(self.delivered)} students)"]
        out += [f"  no feedback file for {why}" for why in self.left_out]
        return out


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(entries.items()):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _page(assignment: Assignment, student: str) -> bytes | None:
    path = assignment.course.feedback / student / f"{assignment.name}.html"
    return path.read_bytes() if path.is_file() else None


def moodle_zip(assignment: Assignment, graded: list[tuple[str, str, str]], out: Path) -> Delivery:
    """`graded`: (participant id, full name, student) of the worksheet's rows that were given a grade."""
    delivery, entries = Delivery(out), {}
    for participant, full_name, student in graded:
        page = _page(assignment, student)
        if page is None or not participant.isdigit():
            why = "no feedback page (run `gradekit marks`)" if page is None else f"participant {participant!r} is not a number"
            delivery.left_out.append(f"{student}: {why}")
            continue
        folder = f"{clean_name(full_name) or 'Participant'}_{participant}_assignfeedback_file"
        entries[f"{folder}/{assignment.name}_feedback.html"] = page
        delivery.delivered.append(student)
    atomic.write_bytes(out, _zip(entries))
    return delivery


def annotated_notebook(assignment: Assignment, marks, policy) -> bytes:
    """The student's notebook as the grader ran it (as handed in, when it did not run), the feedback first."""
    course, name = assignment.course, assignment.notebook_name
    for path in (course.autograded / marks.student / assignment.name / name,
                 course.submitted / marks.student / assignment.name / name):
        try:
            nb = read_json(path, MAX_NOTEBOOK_BYTES, "the notebook", max_depth=500)
            if isinstance(nb, dict) and isinstance(nb.get("cells"), list):
                break
        except (UntrustedData, OSError):
            continue
    else:
        nb = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    cell = {"cell_type": "markdown", "id": "gradekit-feedback", "metadata": {},
            "source": summary_markdown(assignment, marks, policy)}
    nb["cells"] = [cell, *nb["cells"]]
    return (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode()


def _canvas_entry(record: Provenance | None) -> tuple[str | None, str]:
    """The download's file name to answer under, or None and why not."""
    if record is None or record.lms != "canvas" or not isinstance(record.identity, dict):
        return None, "not collected from Canvas"
    if record.identity.get("anonymous"):
        return None, "an anonymous Canvas submission (Canvas's re-upload finds students by user id)"
    for suffix in (".ipynb", ".zip"):
        for entry in record.entries or []:
            if entry.endswith(suffix) and canvas.attachment_id(entry):
                return PurePosixPath(entry).name, ""
    return None, "no notebook or zip among the files Canvas listed"


def canvas_zip(assignment: Assignment, sheet, policy, out: Path) -> Delivery:
    delivery, entries = Delivery(out), {}
    for student, marks in sorted(sheet.students.items()):
        if marks.final is None:
            continue
        entry, why = _canvas_entry(Provenance.load(assignment.course.submitted, student, assignment.name))
        page = _page(assignment, student)
        if entry is None or page is None:
            delivery.left_out.append(f"{student}: {why or 'no feedback page'}")
            continue
        notebook = annotated_notebook(assignment, marks, policy)
        entries[entry] = notebook if entry.endswith(".ipynb") else _zip(
            {f"{assignment.name}_feedback.html": page, assignment.notebook_name: notebook})
        delivery.delivered.append(student)
    atomic.write_bytes(out, _zip(entries))
    return delivery
