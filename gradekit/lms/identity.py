"""Who handed an archive entry in: the LMS identity parsed from the entry's path."""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    lms: str                  # moodle, canvas, folder
    key: str                  # moodle: participant id; canvas: user id (or anonymous id); folder: the name
    name: str = ""            # moodle: full name as in the file name; canvas: sortable name, squashed
    anonymous: bool = False   # Moodle blind marking, Canvas anonymous grading: no name to match
    late: bool = False        # Canvas's _LATE flag

    @property
    def label(self) -> str:
        if self.lms == "moodle":
            return f"Moodle participant {self.key} ({self.name})"
        if self.lms == "canvas":
            return f"Canvas {'anonymous ' if self.anonymous else ''}user {self.key}" + (f" ({self.name})" if self.name else "")
        return f"folder {self.key!r}"


@dataclass(frozen=True)
class Located:
    identity: Identity
    path: str                 # the file's path inside that student's submission


@dataclass(frozen=True)
class Reported:
    """An entry that is not collected and not guessed at: text or URL submissions, group submissions,
    names in no LMS shape. Listed in the summary for a person to handle."""
    entry: str
    why: str


def slug(text: str) -> str:
    """A student id from a name when there is no roster: lower case, runs of other characters as `_`."""
    return re.sub(r"[^0-9a-z]+", "_", text.casefold()).strip("_") or "unnamed"
