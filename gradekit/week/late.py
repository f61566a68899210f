"""Due dates, the late policy and extensions: what a submission's time costs, explained in words.

assignment.toml:
    due = "2026-03-02T23:59:00+11:00"      # ISO 8601 with a time zone
    [late]
    grace_minutes = 15
    percent_per_day = 10                   # per started day (or percent_per_hour: per started hour)
    of = "max"                             # the percentage is of the maximum ("max") or of the mark ("mark")
    max_late_days = 7                      # later than this: the mark is 0
    policy = "none"                        # instead of the above: nothing late is accepted (mark 0)
extensions/<A>.csv: student,due,note       (due: ISO 8601; without a zone, the zone of `due`)
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from gradekit.course.late_policy import LatePolicy, aware
from gradekit.errors import DeclarationError


@dataclass(frozen=True)
class Extension:
    due: datetime
    note: str


def read_extensions(path: Path, policy: LatePolicy, students: set[str] | None = None) -> dict[str, Extension]:
    if not path.exists():
        return {}
    reader = csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig")))
    if not {"student", "due"} <= set(reader.fieldnames or []):
        raise DeclarationError(f"{path}: an extensions file needs the columns student,due,note")
    found = {}
    for number, row in enumerate(reader, 2):
        student = (row["student"] or "").strip()
        if students is not None and student not in students:
            raise DeclarationError(f"{path} line {number}: no student {student!r} in this course's submissions")
        found[student] = Extension(aware(row["due"], policy.zone, f"{path} line {number}"), (row.get("note") or "").strip())
    return found


@dataclass(frozen=True)
class Lateness:
    submitted_at: datetime | None
    late_by: timedelta | None          # None: on time or not known
    percent: float                     # of `of`; 100 with zero=True
    zero: bool
    explanation: str                   # for the sheet's notes and the feedback page; "" when nothing to say

    def penalty(self, mark: float, maximum: float, of: str) -> float:
        if self.zero:
            return mark
        return min(mark, self.percent / 100 * (maximum if of == "max" else mark))


def duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes or not (days or hours) else ""]
    return " ".join(p for p in parts if p)


def assess(policy: LatePolicy, submitted_at: datetime | None, flagged_late: bool = False,
           extension: Extension | None = None) -> Lateness:
    if policy.due is None:
        return Lateness(submitted_at, None, 0.0, False, "")
    due = extension.due if extension else policy.due
    extended = f" (extended from {policy.due:%Y-%m-%d %H:%M %z}: {extension.note or 'no note'})" if extension else ""
    unit = "day" if policy.unit == timedelta(days=1) else "hour"
    if submitted_at is None:
        if not flagged_late:
            return Lateness(None, None, 0.0, False, "no submission time known: treated as on time")
        if extension:
            return Lateness(None, None, 0.0, False, "the LMS flagged it late, but an extension applies and no exact "
                            "time is known: no penalty until the time is given (`gradekit collect --times`)")
        if not policy.accepts_late:
            return Lateness(None, None, 100.0, True, "the LMS flagged it late and this assignment accepts nothing late: mark 0")
        return Lateness(None, None, policy.percent, False, f"the LMS flagged it late with no exact time: penalised as "
                        f"1 started {unit} ({policy.percent:g} %), the least a late submission costs")
    late_by = submitted_at - due
    when = f"submitted {submitted_at:%Y-%m-%d %H:%M %z}, due {due:%Y-%m-%d %H:%M %z}{extended}"
    if late_by <= timedelta(0):
        return Lateness(submitted_at, None, 0.0, False, f"on time by an extension to {due:%Y-%m-%d %H:%M %z} "
                        f"({extension.note or 'no note'})" if extension else "")
    if late_by <= policy.grace:
        return Lateness(submitted_at, late_by, 0.0, False,
                        f"{when}: {duration(late_by)} late, within the {duration(policy.grace)} grace: no penalty")
    if not policy.accepts_late:
        return Lateness(submitted_at, late_by, 100.0, True, f"{when}: {duration(late_by)} late and this assignment "
                        "accepts nothing late: mark 0")
    if policy.max_late is not None and late_by > policy.max_late:
        return Lateness(submitted_at, late_by, 100.0, True, f"{when}: {duration(late_by)} late, past the limit of "
                        f"{duration(policy.max_late)}: mark 0")
    started = math.ceil(late_by / policy.unit)
    percent = min(100.0, started * policy.percent)
    return Lateness(submitted_at, late_by, percent, False, f"{when}: {duration(late_by)} late, {started} started "
                    f"{unit}{'s' if started != 1 else ''} × {policy.percent:g} % = {percent:g} % "
                    f"of the {'maximum' if policy.of == 'max' else 'mark'}")
