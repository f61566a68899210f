"""Canvas's formats: "Download Submissions" entry names, a submission-times CSV, the gradebook export
(read, and written back in its import shape).

Entry names (name = sortable name lower-cased without spaces, commas, hyphens, apostrophes):
    <name>[_LATE]_<user id>_<attachment id>_<file>        a file; a re-upload of one name is `<file>-1.ext`
    [LATE_]anon_<anonymous id>_<attachment id>_<file>      anonymous grading
    <name>[_LATE]_<user id>_text.html, ..._link.html       text and URL submissions
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from dateutil import parser as dateparser

from gradekit.lms.identity import Identity, Located, Reported

_TAIL = r"_(?:(?P<att>\d+)_(?P<file>.+)|(?P<kind>text|link)\.html)$"
_NAMED = re.compile(r"^(?P<name>[^_/]+?)(?P<late>_LATE)?_(?P<id>\d+)" + _TAIL)
_ANON = re.compile(r"^(?P<late>LATE_)?anon_(?P<id>[^_/]+)" + _TAIL)
_COPY = re.compile(r"-\d+(?=\.[^.]+$)")
IDENTITY_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "    Points Possible"


def original_name(file: str) -> str:
    """'A1-1.ipynb' -> 'A1.ipynb': Canvas numbers a re-uploaded file name."""
    return _COPY.sub("", file)


def attachment_id(entry: str) -> str | None:
    """The attachment id of a named (not anonymous) file entry: what Canvas's re-upload finds it by."""
    m = _NAMED.match(PurePosixPath(entry).name)
    return m["att"] if m and not _ANON.match(PurePosixPath(entry).name) else None


def identify(entry: str) -> Located | Reported:
    if "/" in entry:
        return Reported(entry, "a folder inside a Canvas download (Canvas writes flat files)")
    m = _ANON.match(entry)
    anonymous = m is not None
    m = m or _NAMED.match(entry)
    if not m:
        return Reported(entry, "not in a Canvas download's shape (<name>_<user id>_<attachment id>_<file>)")
    if m["kind"]:
        return Reported(entry, f"a Canvas {'text entry' if m['kind'] == 'text' else 'website URL'} submission: "
                               "not a file; read it in Canvas")
    identity = Identity("canvas", m["id"], "" if anonymous else m["name"], anonymous=anonymous, late=bool(m["late"]))
    return Located(identity, m["file"])


def read_times(path: Path) -> dict[str, datetime]:
    """A CSV with `submitted_at` (ISO 8601, as Canvas's API gives it) per user id (`user_id`, `id` or
    `canvas_id`)."""
    rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    header = list(rows[0]) if rows else []
    key = next((k for k in ("user_id", "canvas_id", "id") if k in header), None)
    if key is None or "submitted_at" not in header:
        raise ValueError(f"{path.name}: a Canvas times CSV needs `submitted_at` and `user_id` columns "
                         f"(found: {', '.join(header) or 'nothing'})")
    times = {}
    for number, row in enumerate(rows, 2):
        if (row["submitted_at"] or "").strip():
            try:
                times[row[key].strip()] = dateparser.isoparse(row["submitted_at"].strip())
            except ValueError:
                raise ValueError(f"{path.name} line {number}: submitted_at {row['submitted_at']!r} is not ISO 8601") from None
    return times


@dataclass
class Gradebook:
    """A Canvas gradebook export: header, the optional Points Possible row, student rows."""

    path: Path
    header: list[str]
    points_possible: list[str] | None
    rows: list[list[str]]

    @classmethod
    def read(cls, path: Path) -> "Gradebook":
        records = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
        if not records or "Student" not in records[0] or "ID" not in records[0]:
            found = ", ".join(records[0]) if records else "nothing"
            raise ValueError(f"{path.name}: not a Canvas gradebook export (no `Student` and `ID` columns; found: {found})")
        header, body = records[0], [r for r in records[1:] if any(r)]
        points = None
        if body and body[0] and body[0][0] == POINTS_POSSIBLE:
            points, body = body[0], body[1:]
        return cls(path, header, points, body)

    def column(self, title: str, name: str) -> str:
        """The assignment's column, `Title (id)`, matched by its title or the assignment's name."""
        candidates = [h for h in self.header if re.fullmatch(r".+ \(\d+\)", h)]
        found = [h for h in candidates if h.rsplit(" (", 1)[0] in (title, name)]
        if len(found) != 1:
            raise ValueError(f"{self.path.name}: {'no' if not found else 'more than one'} column for this assignment "
                             f"(title {title!r} or {name!r}); give it with --column; assignment columns: "
                             f"{'; '.join(candidates) or 'none'}")
        return found[0]
