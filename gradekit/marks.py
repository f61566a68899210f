"""`gradekit marks`: the mark sheet (marks/<assignment>.csv), its distribution plot, and feedback pages.

A student's final mark is auto + manual - late penalty. It stays empty while a manual item is not marked
yet ("manual pending") or an item needs the staff's attention: an empty cell is never a silent zero."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from gradekit import atomic, manual
from gradekit.collect import source_record
from gradekit.course import Assignment
from gradekit.feedback import write_feedback
from gradekit.late import LatePolicy, Lateness, assess, duration, read_extensions
from gradekit.records import GradeReport, RunRecord
from gradekit.untrusted import for_spreadsheet


@dataclass
class StudentMarks:
    student: str
    grade: GradeReport
    run: RunRecord | None
    manual: dict[str, manual.ManualMark] = field(default_factory=dict)   # item -> mark given
    pending: list[str] = field(default_factory=list)                       # manual items not marked yet
    lateness: Lateness | None = None
    penalty: float | None = None
    final: float | None = None

    @property
    def manual_total(self) -> float:
        return sum(m.points for m in self.manual.values() if m.points is not None)


@dataclass
class Sheet:
    path: Path
    attention: dict[str, list[str]]   # student -> what staff must look at before the marks are final
    students: dict[str, StudentMarks] = field(default_factory=dict)
    max_total: float = 0.0
    manual_maxima: dict[str, float] = field(default_factory=dict)


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
            marks = "SMOKE MARKS" if run.profile == "smoke" else "MARKS"
            parts.append(f"{marks} on stand-in data ({', '.join(run.standins)}): not valid for a course")
        if run.rebuilt:
            parts.append(f"course file rebuilt ({', '.join(run.rebuilt)})")
    return "; ".join(parts)


def _lateness(assignment: Assignment, policy: LatePolicy, students: list[str]) -> dict[str, Lateness]:
    course = assignment.course
    extensions = read_extensions(course.root / "extensions" / f"{assignment.name}.csv", policy, set(students))
    found = {}
    for student in students:
        record = source_record(course.submitted, student, assignment.name) or {}
        at = datetime.fromisoformat(record["submitted_at"]) if record.get("submitted_at") else None
        found[student] = assess(policy, at, bool(record.get("lms_late_flag")), extensions.get(student))
    return found


def write_marks(assignment: Assignment, autograded: Path, students: list[str], marks_dir: Path,
                feedback_dir: Path) -> Sheet:
    order, grades = collect(assignment, autograded, students)
    maxima = {item.id: item.max for grade in grades.values() for item in grade.items}
    items = assignment.manual_items()
    given = manual.read_marks(manual.path_for(marks_dir, assignment.name), {m["id"]: m["points"] for m in items}, set(students))
    policy = LatePolicy.declared(assignment.declaration, str(assignment.declaration_file))
    lateness = _lateness(assignment, policy, students)
    auto_max = sum(maxima.values())
    manual_max = sum(m["points"] for m in items if not m["bonus"])   # a bonus is on top of the maximum
    max_total = auto_max + manual_max
    header = ["student", "run_status", "profile", *order, *(f"{m['id']} (manual{', bonus' if m['bonus'] else ''})" for m in items),
              "auto_total", "manual_total", "auto_max", "manual_max", "max_total", "submitted_at", "late_by", "penalty",
              "final", "notes"]
    rows, totals, attention, marked = [], [], {}, {}
    for student in students:
        grade = grades[student]
        run = RunRecord.load(autograded / student / assignment.name)
        sm = StudentMarks(student, grade, run, lateness=lateness[student])
        for m in items:
            mark = given.get((student, m["id"]))
            if mark is not None and mark.points is not None:
                sm.manual[m["id"]] = mark
            elif not m["bonus"]:   # an unmarked bonus is no bonus; an unmarked item keeps the total open
                sm.pending.append(m["id"])
        # an item that needs attention (or was never graded) has no mark yet: its cell stays empty
        points = {i.id: _fmt(i.points) for i in grade.items if not i.needs_attention}
        totals.append(grade.total)
        if grade.attention:
            attention[student] = grade.attention
        late = sm.lateness
        earned = grade.total + sm.manual_total
        sm.penalty = late.penalty(earned, max_total, policy.of) if late else 0.0
        if not sm.pending and not grade.attention:
            sm.final = max(0.0, earned - sm.penalty)
        pending = f"pending: {len(sm.pending)} of {len([m for m in items if not m['bonus']])} items" if sm.pending else ""
        note = "; ".join(p for p in (notes(grade, run), late.explanation if late else "") if p)
        rows.append([student, run.status if run else "not run", run.profile if run else "",
                     *(points.get(i, "") for i in order),
                     *(_fmt(sm.manual[m["id"]].points) if m["id"] in sm.manual else "" for m in items),
                     _fmt(grade.total), pending or _fmt(sm.manual_total), _fmt(auto_max), _fmt(manual_max), _fmt(max_total),
                     late.submitted_at.isoformat() if late and late.submitted_at else "",
                     duration(late.late_by) if late and late.late_by else "",
                     _fmt(sm.penalty) if sm.penalty else "", "" if sm.final is None else _fmt(sm.final), note])
        marked[student] = sm
        write_feedback(assignment, student, autograded / student / assignment.name, sm, items,
                       feedback_dir / student / f"{assignment.name}.html")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerow(["(max)", "", "", *(_fmt(maxima[i]) for i in order), *(_fmt(m["points"]) for m in items),
                     _fmt(auto_max), _fmt(manual_max), _fmt(auto_max), _fmt(manual_max), _fmt(max_total), "", "", "",
                     _fmt(max_total), ""])
    writer.writerows([for_spreadsheet(c) for c in row] for row in rows)
    sheet = marks_dir / f"{assignment.name}.csv"
    atomic.write_text(sheet, out.getvalue())
    _plot_distribution(assignment, totals, auto_max, marks_dir / f"{assignment.name}_distribution.png")
    atomic.write_json(marks_dir / f"{assignment.name}_cost.json", batch_cost([m.run for m in marked.values()]))
    return Sheet(sheet, attention, marked, max_total, {m["id"]: m["points"] for m in items})


def batch_cost(runs: list[RunRecord | None]) -> dict:
    """The batch's totals from each run.json's `cost`: student-hours of wall time, CPU-hours, GPU-hours."""
    costs = [r.cost for r in runs if r is not None and r.cost]
    total = lambda key: sum(c.get(key, 0.0) for c in costs)  # noqa: E731
    return {"runs": len(costs), "student_hours": round(total("wall_s") / 3600, 3), "cpu_hours": round(total("cpu_s") / 3600, 3),
            "gpu_hours": round(total("gpu_s") / 3600, 3), "runs_on_gpu": sum(1 for c in costs if c.get("gpu_s")),
            "peak_memory_mb": max((c.get("peak_memory_mb", 0.0) for c in costs), default=0.0),
            "peak_gpu_mb": max((c.get("peak_gpu_mb", 0.0) for c in costs), default=0.0)}


def cost_line(cost: dict) -> str:
    return (f"cost of the runs: {cost['runs']} runs, {cost['student_hours']:g} student-hours (wall), "
            f"{cost['cpu_hours']:g} CPU-hours, {cost['gpu_hours']:g} GPU-hours ({cost['runs_on_gpu']} runs on a GPU); "
            f"largest kernel {cost['peak_memory_mb']:g} MB" + (f", {cost['peak_gpu_mb']:g} MB on the GPU" if cost['peak_gpu_mb'] else ""))


def _fmt(x: float) -> str:
    return f"{round(x, 4):g}"


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
