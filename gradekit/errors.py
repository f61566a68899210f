"""The errors the library raises. Each says, in one line a person can act on, what is wrong and what to do;
only gradekit.cli turns them into a message on stderr and an exit code. A student's fault is never one of
these: it is a mark with a reason."""
from __future__ import annotations


class GradekitError(Exception):
    """Something the person at the terminal must fix before the kit can go on."""

    exit_code = 2


class NotInCourse(GradekitError):
    """The command needs a course repository and none is above the working folder."""


class UnknownAssignment(GradekitError):
    """No source/<name>/ folder."""


class DeclarationError(GradekitError, ValueError):
    """assignment.toml, course.toml or a dataset declaration says something the kit cannot use."""


class TaskDeclarationError(DeclarationError):
    """`[tasks]` of assignment.toml is malformed."""


class ProfileMismatch(GradekitError, ValueError):
    """`grade --profile X` on runs made with another profile: thresholds of one, evidence of the other."""


class NotReady(GradekitError):
    """The machine is not ready for a batch (data missing or unreadable, no sandbox): nothing was run."""

    def __init__(self, problems: list[str]):
        super().__init__("refusing to start: the machine is not ready for this batch (no student was run)\n"
                         + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


class DataRefused(GradekitError):
    """`gradekit data` will not do what was asked (it would mix stand-ins with real files, or has no source)."""


class ScaffoldRefused(GradekitError):
    """`gradekit new` would overwrite an assignment, or the name is not one."""


class ReleaseFailed(GradekitError):
    """nbgrader could not make the release, or the release still holds solution lines."""


class ManualMarksError(GradekitError):
    """marks/A_manual.csv cannot be merged (an unknown student or item, points out of range)."""


class CollectRefused(GradekitError):
    """An LMS archive or folder cannot be collected as it is; nothing was written."""


class ArchiveRefused(CollectRefused):
    """The archive as a whole is refused (not a zip, too large, too many files)."""


class ExportRefused(GradekitError):
    """An LMS grade file cannot be written (the worksheet or gradebook does not fit the mark sheet)."""


class TrialRefused(GradekitError):
    """`gradekit try`: the notebook to try cannot be read as one."""


class VariantError(GradekitError):
    """`[variants]`: the assignment's function fails or gives values that cannot be stored, or a re-roll names
    a student without a variant."""
