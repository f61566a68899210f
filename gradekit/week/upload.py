"""Grade files the LMSs import: Moodle's offline grading worksheet filled in, Canvas's gradebook in its
import shape. Rows are written only for students the LMS file has; both directions of mismatch are
listed for the person uploading."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from gradekit.course.feedback_policy import FeedbackPolicy
from gradekit.platform import atomic
from gradekit.week.feedback import lost_items
from gradekit.week.collect import Provenance
from gradekit.lms.canvas import IDENTITY_COLUMNS, Gradebook
from gradekit.lms.moodle import Worksheet
from gradekit.lms.roster import Roster
from gradekit.platform.untrusted import for_spreadsheet


@dataclass
class Upload:
    path: Path
    written: int = 0
    lms_without_mark: list[str] = field(default_factory=list)   # in the LMS file, no final mark here
    missing_from_lms: list[str] = field(default_factory=list)   # a mark here, not in the LMS file
    graded: list[tuple[str, str, str]] = field(default_factory=list)   # (LMS id, name in the LMS, student) given a grade

    def lines(self) -> list[str]:
        out = [f"wrote {self.path} ({self.written} grades)"]
        if self.lms_without_mark:
            out.append(f"  in the LMS file without a final mark here (left as they were): {', '.join(self.lms_without_mark)}")
        if self.missing_from_lms:
            out.append(f"  marked here but not in the LMS file: {', '.join(self.missing_from_lms)}")
        return out


def _fmt(x: float) -> str:
    return f"{round(x, 2):g}"


def _lms_ids(submitted: Path, assignment: str, students, lms: str) -> dict[str, str]:
    """LMS id (Moodle participant, Canvas user) -> student, from what collect recorded."""
    found = {}
    for student in students:
        record = Provenance.load(submitted, student, assignment)
        identity = record.identity if record is not None and isinstance(record.identity, dict) else {}
        if identity.get("lms") == lms and identity.get("id"):
            found[identity["id"]] = student
    return found


def moodle(sheet, assignment, worksheet_path: Path, roster: Roster | None, out: Path) -> Upload:
    """Fill Grade (and Feedback comments when the column is there) of the worksheet as downloaded.
    `Last modified (grade)` keeps the downloaded value: Moodle's import compares it with its own to skip
    grades changed in Moodle since the download."""
    worksheet = Worksheet.read(worksheet_path, Worksheet.REQUIRED_FOR_UPLOAD)
    policy = assignment.feedback_policy()
    finals = sheet.students
    by_participant = _lms_ids(assignment.course.submitted, assignment.name, finals, "moodle")
    by_email = {}
    if roster is not None and "Email address" in worksheet.header:
        by_email = {row["email"].casefold(): s for s, row in roster.students.items() if row.get("email")}
    upload, rows, seen = Upload(out), [], set()
    for row in worksheet.rows:
        row = dict(row)
        student = by_participant.get(worksheet.participant(row)) or by_email.get(row.get("Email address", "").casefold())
        marks = finals.get(student) if student else None
        if marks is None or marks.final is None:
            upload.lms_without_mark.append(row["Identifier"] + (f" ({student})" if student else ""))
        else:
            seen.add(student)
            upload.graded.append((worksheet.participant(row), row.get("Full name", ""), student))
            row["Grade"] = _fmt(marks.final)
            if "Feedback comments" in worksheet.header:
                row["Feedback comments"] = comment(marks, policy)
            upload.written += 1
        rows.append(row)
    upload.missing_from_lms = sorted(s for s, m in finals.items() if m.final is not None and s not in seen)
    worksheet.write(out, rows)
    return upload


def canvas(sheet, assignment, gradebook_path: Path, roster: Roster | None, out: Path, column: str | None = None) -> Upload:
    """The export's identity columns, the Points Possible row when there is one, and only this
    assignment's column: Canvas takes any other unknown column for a new assignment. EX stays EX."""
    book = Gradebook.read(gradebook_path)
    title = column or book.column(assignment.title, assignment.name)
    if title not in book.header:
        raise ValueError(f"{gradebook_path.name}: no column {title!r}")
    keep = [c for c in IDENTITY_COLUMNS if c in book.header] + [title]
    index = {c: book.header.index(c) for c in keep}
    finals = sheet.students
    by_user = _lms_ids(assignment.course.submitted, assignment.name, finals, "canvas")
    if roster is not None:
        by_user.update({row["canvas_id"]: s for s, row in roster.students.items() if row.get("canvas_id")})
    upload, rows, seen = Upload(out), [], set()
    for record in book.rows:
        row = {c: record[i] if i < len(record) else "" for c, i in index.items()}
        student = by_user.get(row["ID"].strip())
        marks = finals.get(student) if student else None
        if row[title].strip().upper() == "EX":
            seen.add(student)
        elif marks is None or marks.final is None:
            upload.lms_without_mark.append(f"{row['Student']} ({row['ID']})" + (f" = {student}" if student else ""))
        else:
            seen.add(student)
            row[title] = _fmt(marks.final)
            upload.written += 1
        rows.append([row[c] for c in keep])
    upload.missing_from_lms = sorted(s for s, m in finals.items() if m.final is not None and s not in seen)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(keep)
    if book.points_possible is not None:
        writer.writerow([book.points_possible[index[c]] if index[c] < len(book.points_possible) else "" for c in keep])
    writer.writerows([for_spreadsheet(c) for c in row] for row in rows)
    atomic.write_text(out, text.getvalue())
    return upload


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rsplit(" ", 1)[0] + " …"


def comment(marks, policy: FeedbackPolicy = FeedbackPolicy()) -> str:
    """A few lines for the LMS's feedback field: the totals, each lost item with its points and reason (as
    many as `[feedback] comment_items`), the staff's comments; the feedback page has the rest."""
    parts = [f"auto-graded {marks.grade.total:g} / {marks.grade.max:g}"]
    if marks.manual:
        parts.append(f"marked by staff {marks.manual_total:g}")
    if marks.penalty:
        parts.append(f"late penalty -{marks.penalty:g}")
    text = "; ".join(parts) + "."
    lost = lost_items(marks, policy)
    if lost and policy.comment_items:
        shown = [_short(line) for line in lost[:policy.comment_items]]
        more = len(lost) - len(shown)
        text += " Lost: " + "; ".join(shown) + (f"; and {more} more (see the feedback page)" if more else "") + "."
    comments = [f"{item}: {m.comment}" for item, m in marks.manual.items() if m.comment]
    return text + (" " + " ".join(comments) if comments else "")
