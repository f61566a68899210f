"""`gradekit marks`: the mark sheet (marks/<assignment>.csv), its distribution plot, and feedback pages."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from gradekit import atomic
from gradekit.course import Assignment
from gradekit.feedback import write_feedback
from gradekit.records import GradeReport, RunRecord


@dataclass
class Sheet:
    path: Path
    attention: dict[str, list[str]]   # student -> what staff must look at before the marks are final


def collect(assignment: Assignment, autograded: Path, students: list[str]) -> tuple[list[str], dict[str, GradeReport]]:
    """Item ids in a stable order (the graders' order) and each student's grade."""
    grades = {s: GradeReport.load(autograded / s / assignment.name) or GradeReport(
        grading_error="not graded yet: run `gradekit grade`") for s in students}
    order = list(dict.fromkeys(item.id for grade in grades.values() for item in grade.items))
    return order, grades


def notes(grade: GradeReport, run: RunRecord | None) -> str:
    parts = [f"NEEDS ATTENTION: {a[:200]}" for a in grade.attention]
    if run is None:
        parts.append("never run")
    else:
        if run.status != "ok":
            parts.append(f"run {run.status}: {run.reason}")
        parts += run.warnings
        if run.standins:
            parts.append(f"SMOKE MARKS on stand-in data ({', '.join(run.standins)}): not valid for a course")
        if run.rebuilt:
            parts.append(f"course file rebuilt ({', '.join(run.rebuilt)})")
    return "; ".join(parts)


def write_marks(assignment: Assignment, autograded: Path, students: list[str], marks_dir: Path,
                feedback_dir: Path) -> Sheet:
    order, grades = collect(assignment, autograded, students)
    maxima = {item.id: item.max for grade in grades.values() for item in grade.items}
    manual = assignment.manual_items()
    auto_max = sum(maxima.values())
    manual_max = sum(m["points"] for m in manual if not m["bonus"])   # a bonus is on top of the maximum
    header = ["student", "run_status", "profile", *order, *(f"{m['id']} (manual{', bonus' if m['bonus'] else ''})" for m in manual),
              "auto_total", "auto_max", "manual_max", "max_total", "notes"]
    rows, totals, attention = [], [], {}
    for student in students:
        grade = grades[student]
        run = RunRecord.load(autograded / student / assignment.name)
        # an item that needs attention (or was never graded) has no mark yet: its cell stays empty
        points = {i.id: _fmt(i.points) for i in grade.items if not i.needs_attention}
        totals.append(grade.total)
        if grade.attention:
            attention[student] = grade.attention
        rows.append([student, run.status if run else "not run", run.profile if run else "",
                     *(points.get(i, "") for i in order), *("" for _ in manual),
                     _fmt(grade.total), _fmt(auto_max), _fmt(manual_max), _fmt(auto_max + manual_max), notes(grade, run)])
        write_feedback(assignment, student, autograded / student / assignment.name, grade, run, manual,
                       feedback_dir / student / f"{assignment.name}.html")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerow(["(max)", "", "", *(_fmt(maxima[i]) for i in order), *(_fmt(m["points"]) for m in manual),
                     _fmt(auto_max), _fmt(auto_max), _fmt(manual_max), _fmt(auto_max + manual_max), ""])
    writer.writerows(rows)
    sheet = marks_dir / f"{assignment.name}.csv"
    atomic.write_text(sheet, out.getvalue())
    _plot_distribution(assignment, totals, auto_max, marks_dir / f"{assignment.name}_distribution.png")
    return Sheet(sheet, attention)


def _fmt(x: float) -> str:
    return f"{x:g}"


def _plot_distribution(assignment: Assignment, totals: list[float], auto_max: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.hist(totals, bins=20, range=(0, auto_max or 1), color="#4c72b0", edgecolor="white")
    ax.set_xlabel(f"auto-graded points (of {auto_max:g})")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"{assignment.name}: {len(totals)} submissions, median {sorted(totals)[len(totals) // 2]:g}" if totals
                 else assignment.name, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
