"""Moodle's assignment formats: "Download all submissions" entry names, the offline grading worksheet
(read for identities and submission times, written back with grades for upload).

Entry names, by Moodle version (name = full name without `_ ' " : & < > | \\ /`):
    Full Name_<participant id>_assignsubmission_file_/<file>      3.1-4.0, "in folders"
    Full Name_<participant id>_assignsubmission_file/<file>       4.1 on
    Full Name_<participant id>_assignsubmission_file_<file>       before 3.1, or folders off
    Participant_<participant id>_assignsubmission_file_...        blind marking
    Group_<group id>_assignsubmission_file_...                    a group's submission (4.1)
    ..._assignsubmission_onlinetext_onlinetext.html               online text
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from dateutil import parser as dateparser

from gradekit.lms.identity import Identity, Located, Reported
from gradekit.platform.untrusted import for_spreadsheet

_ENTRY = re.compile(r"^(?P<name>[^_/]+)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)(?P<sep>_?)(?P<rest>.*)$")
_STRIPPED = re.compile(r"[_'\":&<>|\\/]")
BOM = "\ufeff"


def clean_name(full_name: str) -> str:
    """A full name as Moodle writes it into a file name."""
    return _STRIPPED.sub("", full_name).strip()


def identify(entry: str) -> Located | Reported:
    first, _, inside = entry.partition("/")
    m = _ENTRY.match(first)
    if not m:
        return Reported(entry, "not in a Moodle download's shape (<Full Name>_<participant id>_assignsubmission_...)")
    if inside and m["rest"]:
        return Reported(entry, "a Moodle folder name with more after the plugin name")
    path = inside or m["rest"]
    if m["plugin"] != "file":
        return Reported(entry, f"a Moodle `assignsubmission_{m['plugin']}` entry (online text or another "
                               "plugin): not a file submission; read it in Moodle")
    if not path:
        return Reported(entry, "a Moodle file entry without a file name")
    if m["name"] == "Group":
        return Reported(entry, f"a group submission (Moodle group {m['id']}): assign it to its members by hand")
    blind = m["name"] == "Participant"
    return Located(Identity("moodle", m["id"], "" if blind else m["name"], anonymous=blind), path)


@dataclass
class Worksheet:
    """The offline grading worksheet as downloaded: its header and rows in order, values as strings."""

    path: Path
    header: list[str]
    rows: list[dict[str, str]]

    REQUIRED_FOR_UPLOAD = ("Identifier", "Grade", "Last modified (grade)")

    @classmethod
    def read(cls, path: Path, required: tuple[str, ...] = ("Identifier",)) -> "Worksheet":
        text = path.read_bytes().decode("utf-8-sig", errors="strict")
        reader = csv.DictReader(io.StringIO(text))
        header = list(reader.fieldnames or [])
        for column in required:
            if column not in header:
                raise ValueError(f"{path.name}: no column {column!r}: not a Moodle grading worksheet with English "
                                 f"headers (found: {', '.join(header) or 'nothing'})")
        return cls(path, header, [dict(row) for row in reader])

    def participant(self, row: dict[str, str]) -> str:
        """'Participant 123' -> '123'."""
        return row["Identifier"].rsplit(" ", 1)[-1]

    def by_participant(self) -> dict[str, dict[str, str]]:
        return {self.participant(row): row for row in self.rows}

    def write(self, path: Path, rows: list[dict[str, str]]) -> None:
        """UTF-8 with a BOM and every field quoted, as Moodle writes it; its columns in its order."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=self.header, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: for_spreadsheet(v) for k, v in row.items()} for row in rows)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(BOM + out.getvalue(), encoding="utf-8")


def parse_time(text: str, zone: tzinfo) -> datetime | None:
    """'Monday, 2 March 2026, 11:00 PM' (Moodle's strftimedatetime, in the user's time zone) -> aware
    datetime; '-' or empty -> None."""
    text = (text or "").strip()
    if text in ("", "-"):
        return None
    parsed = dateparser.parse(text, dayfirst=True)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
