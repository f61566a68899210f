"""`gradekit marks`: the mark sheet (marks/<assignment>.csv), its distribution plot, and feedback pages.

A student's final mark is auto + manual - late penalty. It stays empty while a manual item is not marked
yet ("manual pending") or an item needs the staff's attention: an empty cell is never a silent zero."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from gradekit.platform import atomic
from gradekit.week import manual
from gradekit.week.collect import Provenance
from gradekit.course import Assignment, ManualItem
from gradekit.week.feedback import write_feedback
from gradekit.week.late import LatePolicy, Lateness, assess, duration, read_extensions
from gradekit.records import GradeReport, RunRecord
from gradekit.platform.untrusted import for_spreadsheet


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
    def status(self) -> str:
        """The run's status; "not run" for a collected submission without a run, "no submission" else."""
        if self.run is not None:
            return self.run.status
        return "not run" if self.grade.grading_error else "no submission"

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
    warnings: list[str] = field(default_factory=list)   # for the person reading the sheet (mixed graders)


@dataclass(frozen=True)
class Layout:
    """What every row of the sheet shares: the items, their maxima, the manual items, the late policy."""

    order: list[str]
    maxima: dict[str, float]
    items: list[ManualItem]
    policy: LatePolicy

    @property
    def auto_max(self) -> float:
        return sum(self.maxima.values())

    @property
    def manual_max(self) -> float:
        return sum(m.points for m in self.items if not m.bonus)   # a bonus is on top of the maximum

    @property
    def max_total(self) -> float:
        return self.auto_max + self.manual_max

    def header(self) -> list[str]:
        return ["student", "run_status", "profile", *self.order,
                *(f"{m.id} (manual{', bonus' if m.bonus else ''})" for m in self.items),
                "auto_total", "manual_total", "auto_max", "manual_max", "max_total", "submitted_at", "late_by",
                "penalty", "final", "notes"]

    def max_row(self) -> list[str]:
        return ["(max)", "", "", *(_fmt(self.maxima[i]) for i in self.order), *(_fmt(m.points) for m in self.items),
                _fmt(self.auto_max), _fmt(self.manual_max), _fmt(self.auto_max), _fmt(self.manual_max),
                _fmt(self.max_total), "", "", "", _fmt(self.max_total), ""]


def sheet_students(assignment: Assignment, roster: list[str] = ()) -> list[str]:
    """Everyone the sheet has a row for: each run, each collected submission not run yet ("not run"), and
    each student of the roster with nothing submitted ("no submission")."""
    course = assignment.course
    return sorted({*course.students(course.autograded, assignment.name),
                   *course.students(course.submitted, assignment.name), *roster})


def write_marks(assignment: Assignment, autograded: Path, students: list[str], marks_dir: Path,
                feedback_dir: Path) -> Sheet:
    order, grades = collect(assignment, autograded, students)
    items = assignment.manual_items()
    layout = Layout(order, {item.id: item.max for grade in grades.values() for item in grade.items}, items,
                    assignment.late_policy())
    given = manual.read_marks(manual.path_for(marks_dir, assignment.name), {m.id: m.points for m in items},
                              set(students))
    lateness = _lateness(assignment, layout.policy, students)
    policy = assignment.feedback_policy()
    rows, marked = [], {}
    for student in students:
        run = RunRecord.load(autograded / student / assignment.name)
        sm = _student_marks(StudentMarks(student, grades[student], run, lateness=lateness[student]), layout, given)
        rows.append(_row(sm, layout))
        marked[student] = sm
        if run is not None or grades[student].grading_error:   # nothing submitted: no page to read
            write_feedback(assignment, autograded / student / assignment.name, sm, items,
                           feedback_dir / student / f"{assignment.name}.html", policy)
    sheet = marks_dir / f"{assignment.name}.csv"
    atomic.write_text(sheet, _csv([layout.header(), layout.max_row(), *rows]))
    _plot_distribution(assignment, [sm.grade.total for sm in marked.values() if sm.run is not None],
                       layout.auto_max, marks_dir / f"{assignment.name}_distribution.png")
    atomic.write_json(marks_dir / f"{assignment.name}_cost.json", batch_cost([m.run for m in marked.values()]))
    attention = {s: sm.grade.attention for s, sm in marked.items() if sm.grade.attention}
    return Sheet(sheet, attention, marked, layout.max_total, {m.id: m.points for m in items},
                 mixed_graders(grades))


def _student_marks(sm: StudentMarks, layout: Layout, given: dict) -> StudentMarks:
    """The manual marks given, what is pending, the late penalty and the final mark (empty while open)."""
    if sm.status == "no submission":   # nothing to mark, and no mark: the instructor decides
        return sm
    for m in layout.items:
        mark = given.get((sm.student, m.id))
        if mark is not None and mark.points is not None:
            sm.manual[m.id] = mark
        elif not m.bonus:   # an unmarked bonus is no bonus; an unmarked item keeps the total open
            sm.pending.append(m.id)
    earned = sm.grade.total + sm.manual_total
    sm.penalty = sm.lateness.penalty(earned, layout.max_total, layout.policy.of) if sm.lateness else 0.0
    if not sm.pending and not sm.grade.attention and sm.run is not None:
        sm.final = max(0.0, earned - sm.penalty)
    return sm


def _row(sm: StudentMarks, layout: Layout) -> list[str]:
    grade, run, late = sm.grade, sm.run, sm.lateness
    # an item that needs attention (or was never graded) has no mark yet: its cell stays empty
    points = {i.id: _fmt(i.points) for i in grade.items if not i.needs_attention}
    required = [m for m in layout.items if not m.bonus]
    pending = f"pending: {len(sm.pending)} of {len(required)} items" if sm.pending else ""
    status = sm.status
    note = "; ".join(p for p in (notes(grade, run), late.explanation if late else "") if p)
    return [sm.student, status, run.profile if run else "", *(points.get(i, "") for i in layout.order),
            *(_fmt(sm.manual[m.id].points) if m.id in sm.manual else "" for m in layout.items),
            _fmt(grade.total), pending or _fmt(sm.manual_total), _fmt(layout.auto_max), _fmt(layout.manual_max),
            _fmt(layout.max_total), late.submitted_at.isoformat() if late and late.submitted_at else "",
            duration(late.late_by) if late and late.late_by else "", _fmt(sm.penalty) if sm.penalty else "",
            "" if sm.final is None else _fmt(sm.final), note]


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(rows[:2])
    writer.writerows([for_spreadsheet(c) for c in row] for row in rows[2:])
    return out.getvalue()


def mixed_graders(grades: dict[str, GradeReport]) -> list[str]:
    """A warning when the sheet's grades were made by different versions of the graders."""
    digests: dict[str, list[str]] = {}
    for student, grade in grades.items():
        if grade.graders_sha256:
            digests.setdefault(grade.graders_sha256, []).append(student)
    if len(digests) < 2:
        return []
    groups = sorted(digests.values(), key=len)
    return [f"the grades were made by {len(digests)} different versions of grader_tests/: "
            f"{', '.join(groups[0][:5])}{' and more' if len(groups[0]) > 5 else ''} by another version than the most; "
            "`gradekit grade A` again grades everyone with today's graders"]


def sheet_table(sheet: Sheet) -> list[str]:
    """The sheet as the terminal shows it: one line a student."""
    lines = [f"{'student':<24} {'run':<16} {'auto':>7} {'manual':>8} {'penalty':>7} {'final':>7}"]
    for student, sm in sorted(sheet.students.items()):
        status = sm.status
        manual_cell = "pending" if sm.pending else "" if sm.status == "no submission" else f"{sm.manual_total:g}"
        final = "" if sm.final is None else f"{sm.final:g}"
        lines.append(f"{student[:24]:<24} {status[:16]:<16} {sm.grade.total:>7g} {manual_cell:>8} "
                     f"{sm.penalty or 0:>7g} {final:>7}")
    lines.append(f"{'(max)':<24} {'':<16} {'':>7} {'':>8} {'':>7} {sheet.max_total:>7g}")
    return lines


def collect(assignment: Assignment, autograded: Path, students: list[str]) -> tuple[list[str], dict[str, GradeReport]]:
    """Item ids in a stable order (the graders' order) and each student's grade; a student with nothing
    submitted has an empty one (no row of theirs needs the staff's attention)."""
    submitted = set(assignment.course.students(assignment.course.submitted, assignment.name))
    grades = {s: GradeReport.load(autograded / s / assignment.name) or (GradeReport(
        grading_error="not graded yet: run `gradekit run` and `gradekit grade`") if s in submitted or
        (autograded / s / assignment.name).is_dir() else GradeReport()) for s in students}
    order = list(dict.fromkeys(item.id for grade in grades.values() for item in grade.items))
    return order, grades


def notes(grade: GradeReport, run: RunRecord | None) -> str:
    parts = [f"NEEDS ATTENTION: {a[:200]}" for a in grade.attention]
    parts += [f"FLAGGED: {f[:300]}" for f in grade.flags]
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
        record = Provenance.load(course.submitted, student, assignment.name)
        at = record.submitted_at_time if record else None
        found[student] = assess(policy, at, bool(record and record.lms_late_flag), extensions.get(student))
    return found


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
