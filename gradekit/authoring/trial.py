"""`gradekit try A NOTEBOOK`: one notebook run and graded exactly as the batch does it (the profile's limits,
the sandbox, the same graders), into a folder of its own: nothing is written into the course's folders.
For an instructor checking a student's complaint, and for a student with the kit installed."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from gradekit.authoring.solve import run_and_grade
from gradekit.batch.settings import Settings
from gradekit.course import Assignment, Folders
from gradekit.errors import TrialRefused
from gradekit.records import GradeReport, RunRecord


@dataclass(frozen=True)
class Trial:
    student: str
    run: RunRecord
    grade: GradeReport
    run_dir: Path

    def lines(self) -> list[str]:
        """What the mark sheet and the feedback page would say, as text (untrusted: escape before printing)."""
        out = [f"{self.student}: run {self.run.status}: {self.run.reason}"]
        out += [f"  task {t.name}: {t.status}: {t.reason}" for t in self.run.tasks if len(self.run.tasks) > 1]
        out += [f"  warning: {w}" for w in self.run.warnings]
        width = max((len(i.id) for i in self.grade.items), default=4)
        for item in self.grade.items:
            points = "–" if item.needs_attention else f"{item.points:g}"
            out.append(f"  {item.id:<{width}}  {points:>5} / {item.max:<4g} {item.reason}")
        if self.grade.grading_error:
            out.append(f"  grading failed (not the student's fault): {self.grade.grading_error}")
        out.append(f"auto-graded {self.grade.total:g} / {self.grade.max:g} (profile {self.run.profile}; "
                   f"manual items are marked by the staff)")
        return out


def try_notebook(assignment: Assignment, settings: Settings, notebook: Path, folder: Path, student: str) -> Trial:
    """`notebook` (and the files the assignment's `hand_in` names, from beside it) handed in as `student`
    under `folder`/submitted, run into `folder`/autograded."""
    if not notebook.is_file() or notebook.suffix != ".ipynb":
        raise TrialRefused(f"{notebook}: not a notebook file (.ipynb)")
    submission = folder / "submitted" / student / assignment.name
    if submission.exists():
        shutil.rmtree(submission)
    submission.mkdir(parents=True)
    shutil.copyfile(notebook, submission / assignment.notebook_name)
    for name in assignment.hand_in():
        beside = notebook.parent / name
        if beside.is_file() and not beside.is_symlink():
            shutil.copyfile(beside, submission / name)
    folders = Folders(folder / "submitted", folder / "autograded", assignment.name)
    record, grade = run_and_grade(assignment, settings, folders, student, trial_variants(assignment, student))
    return Trial(student, record, grade, folders.run(student))


def trial_variants(assignment: Assignment, student: str) -> dict:
    """The student's stored variant, or one made for the trial and not stored (nothing is written to the course)."""
    book = assignment.variant_book()
    if book is None:
        return {}
    return {**book.students, student: book.students.get(student) or book.make(student)}
