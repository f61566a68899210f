"""The due date and the late policy an assignment declares (`due` and `[late]` of assignment.toml), parsed
and checked in one place; what a submission's time costs is gradekit.week.late's."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from dateutil import parser as dateparser

from gradekit.errors import DeclarationError


@dataclass(frozen=True)
class LatePolicy:
    due: datetime | None = None
    grace: timedelta = timedelta(0)
    percent: float = 0.0
    unit: timedelta = timedelta(days=1)
    of: str = "max"
    max_late: timedelta | None = None
    accepts_late: bool = True

    @property
    def zone(self) -> tzinfo | None:
        return self.due.tzinfo if self.due else None

    @classmethod
    def declared(cls, declaration: dict, where: str) -> "LatePolicy":
        if "due" not in declaration:
            if "late" in declaration:
                raise DeclarationError(f"{where}: a [late] table needs a `due` date")
            return cls()
        due = aware(str(declaration["due"]), None, f"{where}: due")
        late = declaration.get("late", {})
        unknown = set(late) - {"grace_minutes", "percent_per_day", "percent_per_hour", "of", "max_late_days", "policy"}
        if unknown:
            raise DeclarationError(f"{where}: [late] has unknown keys {sorted(unknown)}")
        if "percent_per_day" in late and "percent_per_hour" in late:
            raise DeclarationError(f"{where}: [late] gives both percent_per_day and percent_per_hour; choose one")
        if late.get("of", "max") not in ("max", "mark"):
            raise DeclarationError(f"{where}: [late] of must be \"max\" or \"mark\"")
        if late.get("policy", "penalty") not in ("penalty", "none"):
            raise DeclarationError(f"{where}: [late] policy must be \"none\" (nothing late accepted) or left out")
        hourly = "percent_per_hour" in late
        return cls(due, timedelta(minutes=float(late.get("grace_minutes", 0))),
                   float(late.get("percent_per_hour" if hourly else "percent_per_day", 0)),
                   timedelta(hours=1) if hourly else timedelta(days=1), late.get("of", "max"),
                   timedelta(days=float(late["max_late_days"])) if "max_late_days" in late else None,
                   late.get("policy", "penalty") != "none")


def aware(text: str, zone: tzinfo | None, what: str) -> datetime:
    try:
        moment = dateparser.isoparse(text.strip())
    except ValueError:
        raise DeclarationError(f"{what}: {text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        if zone is None:
            raise DeclarationError(f"{what}: {text!r} has no time zone (write e.g. 2026-03-02T23:59:00+11:00)")
        moment = moment.replace(tzinfo=zone)
    return moment
