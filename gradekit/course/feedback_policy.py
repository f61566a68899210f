"""What an assignment's feedback shows its students (`[feedback]` of assignment.toml), parsed and checked in
one place. The defaults show the student's own work and the graders' reasons, which are written never to
carry an expected value; nothing hidden is shown by any setting."""
from __future__ import annotations

from dataclasses import dataclass, fields

from gradekit.errors import DeclarationError


@dataclass(frozen=True)
class FeedbackPolicy:
    items: bool = True        # each auto-graded item with its points (false: the auto-graded total only)
    reasons: bool = True      # each item's reason, as its grader wrote it for the student
    plots: bool = True        # the student's own plots from the executed notebook
    errors: bool = True       # the cells of the student's notebook that raised, timed out or stopped
    log_lines: int = 0        # the last lines of the run's log (the notebook's own output and errors)
    comment_items: int = 5    # lost items listed in the LMS's feedback comment (0: the totals only)

    @classmethod
    def declared(cls, declaration: dict, where: str) -> "FeedbackPolicy":
        table = declaration.get("feedback", {})
        if not isinstance(table, dict):
            raise DeclarationError(f"{where}: [feedback] must be a table")
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise DeclarationError(f"{where}: [feedback] has unknown keys {unknown} (valid: {', '.join(known)})")
        for key, value in table.items():
            wanted = bool if known[key] == "bool" else int
            if type(value) is not wanted or (wanted is int and value < 0):
                kind = "true or false" if wanted is bool else "a whole number, 0 or more"
                raise DeclarationError(f"{where}: [feedback] {key} must be {kind} (found {value!r})")
        return cls(**table)
