"""The files of a course week for the demo, in the shapes the LMSs write them, built from the example
submissions of one assignment (tests/fixtures/<A>/<student>/<A>/):

    python scripts/demo_week.py lms A OUT      OUT/moodle.zip ("Download all submissions", Moodle 4.x folders),
                                               OUT/moodle_worksheet.csv (grading worksheet), OUT/canvas_gradebook.csv
                                               (gradebook export), roster.csv of the course (cwd)
    python scripts/demo_week.py manual A       marks/A_manual.csv filled in, as a TA would: every manual item
                                               marked (full points for the first student, 80 % for the others)

The example students are named after their folders ("alice_correct" is Alice Correct, Moodle participant 7001,
Canvas user 101); students listed in SKIP are left out of the demo."""
from __future__ import annotations

import csv
import io
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# one example of each kind, in minutes: judy's cell runs to the smoke profile's 600 s limit, and carol (a weak
# MLP) and kate (a model past the file limit) train as long as alice does; the test suite runs them all
SKIP = {"judy_task2_timeout", "carol_weak_mlp", "kate_16m_mlp"}


def students(assignment: str) -> list[str]:
    base = REPO / "tests" / "fixtures" / assignment
    return sorted(p.name for p in base.iterdir() if (p / assignment).is_dir() and p.name not in SKIP)


def full_name(student: str) -> str:
    first, _, rest = student.partition("_")
    return f"{first.title()} {rest.replace('_', ' ').title()}".strip()


def lms_files(assignment: str, out: Path, course: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    names = students(assignment)
    with zipfile.ZipFile(out / "moodle.zip", "w") as archive:
        for i, student in enumerate(names):
            folder = REPO / "tests" / "fixtures" / assignment / student / assignment
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                entry = f"{full_name(student)}_{7001 + i}_assignsubmission_file/{path.relative_to(folder).as_posix()}"
                archive.writestr(entry, path.read_bytes())
    with (course / "roster.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "name", "email", "canvas_id"])
        for i, student in enumerate(names):
            writer.writerow([student, full_name(student), f"{student}@uni.example", 101 + i])
    _worksheet(names, out / "moodle_worksheet.csv")
    _gradebook(assignment, names, out / "canvas_gradebook.csv")


def _worksheet(names: list[str], path: Path) -> None:
    """Moodle's grading worksheet: UTF-8 with a BOM, every field quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                     "Grade can be changed", "Last modified (submission)", "Online text", "Last modified (grade)",
                     "Feedback comments"])
    for i, student in enumerate(names):
        writer.writerow([f"Participant {7001 + i}", full_name(student), f"{student}@uni.example",
                         "Submitted for grading", "", "100.00", "Yes", "Monday, 2 March 2026, 10:15 PM", "", "-", ""])
    path.write_text("\ufeff" + buffer.getvalue(), encoding="utf-8")


def _gradebook(assignment: str, names: list[str], path: Path) -> None:
    """Canvas's "Export Entire Gradebook": identity columns, the assignment's column, a Points Possible row."""
    rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{assignment} (6001)", "Current Score"],
            ["    Points Possible", "", "", "", "", "100", "(read only)"]]
    for i, student in enumerate(names):
        first, last = full_name(student).split(" ", 1) if " " in full_name(student) else (full_name(student), "")
        rows.append([f"{last}, {first}", str(101 + i), f"S{101 + i}", student, "DL 2026", "", ""])
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def manual_marks(assignment: str, course: Path) -> None:
    from gradekit.course import Course

    items = {m.id: m.points for m in Course(course).assignment(assignment).manual_items()}
    path = course / "marks" / f"{assignment}_manual.csv"
    rows = list(csv.DictReader(path.open()))
    first = min(r["student"] for r in rows)
    for row in rows:
        share = 1.0 if row["student"] == first else 0.8
        row["points"] = f"{round(items[row['item']] * share, 2):g}"
        row["comment"] = "demo mark" if share < 1 else "complete and clear"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["student", "item", "points", "comment"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    if sys.argv[1] == "lms":
        lms_files(sys.argv[2], Path(sys.argv[3]), Path.cwd())
    elif sys.argv[1] == "manual":
        manual_marks(sys.argv[2], Path.cwd())
    else:
        raise SystemExit(__doc__)
