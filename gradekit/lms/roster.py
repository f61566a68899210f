"""The course roster: `student,name,email[,canvas_id]`, the course's student ids and how the LMSs know them."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from gradekit.lms.identity import Identity, slug
from gradekit.lms.moodle import Worksheet, clean_name


@dataclass
class Roster:
    students: dict[str, dict[str, str]] = field(default_factory=dict)   # student id -> its row

    @classmethod
    def read(cls, path: Path) -> "Roster":
        reader = csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig")))
        missing = {"student", "name", "email"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path.name}: a roster needs the columns student,name,email (missing: {', '.join(sorted(missing))})")
        roster = cls()
        for number, row in enumerate(reader, 2):
            sid = (row["student"] or "").strip()
            if not sid or sid in roster.students or "/" in sid or sid.startswith("."):
                raise ValueError(f"{path.name} line {number}: student id {sid!r} is empty, repeated or not a folder name")
            roster.students[sid] = {k: (v or "").strip() for k, v in row.items() if k}
        return roster

    def _unique(self, key: str, value: str) -> str | None:
        found = [s for s, row in self.students.items() if row.get(key, "").casefold() == value.casefold() and value]
        return found[0] if len(found) == 1 else None


class Matcher:
    """LMS identity -> course student id, or None when the roster does not know it.

    Moodle's participant numbers are per assignment, so Moodle goes through the worksheet's email when one
    is given, else the full name. Canvas goes through the user id. Blind and anonymous identities are kept
    as they are (`participant_N`, `anon_X`): hiding who they are is the point. Without a roster, the LMS's
    own name becomes the id."""

    def __init__(self, roster: Roster | None, worksheet: Worksheet | None = None):
        self.roster = roster
        self.emails = {}
        if worksheet is not None and "Email address" in worksheet.header:
            self.emails = {worksheet.participant(r): r["Email address"] for r in worksheet.rows}

    def student(self, identity: Identity) -> str | None:
        if identity.anonymous:
            return f"participant_{identity.key}" if identity.lms == "moodle" else f"anon_{identity.key}"
        if self.roster is None:
            return slug(identity.name or identity.key)
        if identity.lms == "folder":
            return identity.key if identity.key in self.roster.students else None
        if identity.lms == "canvas":
            return self.roster._unique("canvas_id", identity.key)
        if identity.key in self.emails:
            return self.roster._unique("email", self.emails[identity.key])
        by_name = [s for s, row in self.roster.students.items()
                   if clean_name(row["name"]).casefold() == identity.name.casefold()]
        return by_name[0] if len(by_name) == 1 else None
