"""`gradekit marks`: the mark sheet (marks/<assignment>.csv), its distribution plot, and feedback pages."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from gradekit import atomic
from gradekit.course import Assignment
from gradekit.feedback import write_feedback
from gradekit.grading.runner import GRADE_FILE


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def collect(assignment: Assignment, autograded: Path, students: list[str]) -> tuple[list[str], list[dict], dict[str, dict]]:
    """Item ids in a stable order (the graders' order), manual items, and each student's grade."""
    grades = {s: _load(autograded / s / assignment.name / GRADE_FILE) for s in students}
    order, seen = [], set()
    for grade in grades.values():
        for item in grade.get("items", []):
            if item["id"] not in seen:
                seen.add(item["id"])
                order.append(item["id"])
    return order, assignment.manual_items(), grades


def notes(grade: dict, run: dict) -> str:
    parts = []
    if run.get("status") and run["status"] != "ok":
        parts.append(f"run {run['status']}: {run.get('reason', '')}")
    if not run:
        parts.append("never run")
    if grade.get("grading_error"):
        parts.append(f"grading failed: {grade['grading_error'][:200]}")
    parts += run.get("warnings", [])
    standins = [name for name, state in run.get("data", {}).items() if state == "standin"]
    if standins:
        parts.append(f"SMOKE MARKS on stand-in data ({', '.join(standins)}): not valid for a course")
    return "; ".join(parts)


def write_marks(assignment: Assignment, autograded: Path, students: list[str], marks_dir: Path,
                feedback_dir: Path) -> Path:
    order, manual, grades = collect(assignment, autograded, students)
    maxima = {}
    for grade in grades.values():
        for item in grade.get("items", []):
            maxima[item["id"]] = item["max"]
    auto_max = sum(maxima.values())
    manual_max = sum(m["points"] for m in manual)
    header = ["student", "run_status", "profile", *order, *(f"{m['id']} (manual)" for m in manual),
              "auto_total", "auto_max", "manual_max", "max_total", "notes"]
    rows = []
    for student in students:
        grade = grades[student]
        run = _load(autograded / student / assignment.name / "run.json")
        points = {i["id"]: i["points"] for i in grade.get("items", [])}
        total = sum(points.values())
        rows.append([student, run.get("status", "not run"), run.get("profile", ""),
                     *(_fmt(points.get(i, 0.0)) for i in order), *("" for _ in manual),
                     _fmt(total), _fmt(auto_max), _fmt(manual_max), _fmt(auto_max + manual_max), notes(grade, run)])
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
    _plot_distribution(assignment, [float(r[-5]) for r in rows], auto_max, marks_dir / f"{assignment.name}_distribution.png")
    return sheet


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
