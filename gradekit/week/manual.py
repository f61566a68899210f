"""Manual marking: one page per manual item with every student's answer, a CSV for the staff's points and
comments (marks/<A>_manual.csv: student,item,points,comment), and reading that CSV back with its rows
checked. An empty `points` is a mark not given yet ("manual pending"), never a zero."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from gradekit.platform import atomic
from gradekit.course import Assignment
from gradekit.week.pages import image_data_uri, images_of, render
from gradekit.platform.untrusted import MAX_NOTEBOOK_BYTES, for_spreadsheet, from_spreadsheet, read_json
from gradekit.errors import ManualMarksError

HEADER = ["student", "item", "points", "comment"]
_MATHJAX = ('<script>window.MathJax={tex:{inlineMath:[["$","$"],["\\\\(","\\\\)"]]}};</script>'
            '<script async src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>')
_STYLE = ("body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}"
          "section{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;margin:1em 0}"
          "pre{background:#f6f8fa;padding:.5em;overflow-x:auto}img{max-width:100%}.missing{color:#b00}")


@dataclass(frozen=True)
class ManualMark:
    points: float | None      # None: not marked yet
    comment: str


def path_for(marks_dir: Path, assignment: str) -> Path:
    return marks_dir / f"{assignment}_manual.csv"


def answer_cell(notebook: Path, item: str):
    """The student's cell for a manual item, found by its nbgrader grade_id (the release keeps it)."""
    import nbformat   # slow to import (a second): only where notebooks are read

    try:   # bounded, depth-checked JSON first: the notebook is the student's
        nb = nbformat.from_dict(read_json(notebook, MAX_NOTEBOOK_BYTES, max_depth=500))
        nb.cells
    except Exception:
        return None
    return next((c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == item), None)


def render_cell(cell) -> Markup:
    """A student's answer as HTML: Markdown through nbconvert's renderer with escaping on (a student's
    HTML never runs in the marker's browser) and only checked images as attachments; code and its text
    outputs escaped by the template; images only when their data is what they declare."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    if cell is None:
        return render(_MISSING)
    if cell.cell_type == "markdown":
        attachments = {name: {mime: uri.split(",", 1)[1] for mime in kinds if (uri := image_data_uri(mime, kinds[mime]))}
                       for name, kinds in (cell.get("attachments") or {}).items() if isinstance(kinds, dict)}
        try:
            html_text = MarkdownWithMath(renderer=IPythonRenderer(escape=True, attachments=attachments)).render(cell.source)
            return Markup(html_text)
        except Exception:
            return render("<pre>{{ source }}</pre>", source=cell.source)
    outputs = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        images = images_of(output)
        if images:
            outputs.append({"image": images[0]})
        elif "text/plain" in data or "text" in output:
            outputs.append({"text": str(data.get("text/plain", output.get("text", "")))[:20000]})
    return render(_CODE, source=cell.source, outputs=outputs)


_MISSING = "<p class=missing>No answer cell for this item (deleted, or its nbgrader metadata was removed).</p>"
_CODE = """<pre>{{ source }}</pre>
{% for o in outputs %}{% if o.image %}<img alt="output" src="{{ o.image }}">{% else %}<pre>{{ o.text }}</pre>{% endif %}
{% endfor %}"""
_ITEM_PAGE = """<!doctype html><meta charset=utf-8><title>{{ a.name }}: {{ item.id }}</title><style>{{ style }}</style>{{ mathjax }}
<h1>{{ a.title }}: {{ item.id }}</h1><p>{{ "%g"|format(item.points) }} points{{ " (bonus)" if item.bonus }} · {{ students|length }} students · mark in <code>marks/{{ a.name }}_manual.csv</code></p>
{% for student, answer in answers %}<section id="{{ student }}"><h2>{{ student }}</h2>{{ answer }}</section>
{% endfor %}"""


def student_notebook(assignment: Assignment, student: str) -> Path | None:
    """The executed notebook when there is one (the marker sees the outputs), else the hand-in."""
    for folder in (assignment.course.autograded / student / assignment.name,
                   assignment.course.submitted / student / assignment.name):
        preferred = folder / assignment.notebook_name
        found = [preferred] if preferred.exists() else sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
        if len(found) == 1:
            return found[0]
    return None


def write_pages(assignment: Assignment, students: list[str], out_dir: Path) -> list[Path]:
    pages = []
    items = assignment.manual_items()
    for item in items:
        answers = []
        for student in students:
            notebook = student_notebook(assignment, student)
            answers.append((student, render_cell(answer_cell(notebook, item.id) if notebook else None)))
        text = render(_ITEM_PAGE, a=assignment, item=item, students=students, answers=answers,
                      style=Markup(_STYLE), mathjax=Markup(_MATHJAX))
        page = out_dir / f"{item.id}.html"
        atomic.write_text(page, text)
        pages.append(page)
    return pages


def write_template(path: Path, assignment: Assignment, students: list[str]) -> int:
    """Add a row per (student, item) not in the file yet; rows already there (marks given) are kept as
    they are. Returns the number of rows added."""
    rows = _rows(path) if path.exists() else []
    have = {(from_spreadsheet(r.get("student") or ""), from_spreadsheet(r.get("item") or "")) for _, r in rows}
    added = [{"student": for_spreadsheet(s), "item": for_spreadsheet(m.id), "points": "", "comment": ""}
             for s in students for m in assignment.manual_items() if (s, m.id) not in have]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows([r for _, r in rows] + added)
    atomic.write_text(path, out.getvalue())
    return len(added)


def _rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig")))
    missing = set(HEADER) - set(reader.fieldnames or [])
    if missing:
        raise ManualMarksError(f"{path}: the columns must be {','.join(HEADER)} (missing: {', '.join(sorted(missing))})")
    return [(number, row) for number, row in enumerate(reader, 2)]


def read_marks(path: Path, items: dict[str, float], students: set[str]) -> dict[tuple[str, str], ManualMark]:
    """(student, item) -> mark. Every bad row is an error naming it; nothing is taken from a bad file."""
    if not path.exists():
        return {}
    marks, errors = {}, []
    for number, row in _rows(path):
        student, item = (from_spreadsheet((row["student"] or "").strip()), from_spreadsheet((row["item"] or "").strip()))
        text = (row["points"] or "").strip()
        where = f"{path.name} line {number} ({student}, {item})"
        if student not in students:
            errors.append(f"{where}: no student {student!r} has a submission for this assignment")
        elif item not in items:
            errors.append(f"{where}: no manual item {item!r} (items: {', '.join(items)})")
        elif (student, item) in marks:
            errors.append(f"{where}: a second row for the same student and item")
        else:
            try:
                points = float(text) if text else None
            except ValueError:
                errors.append(f"{where}: points {text!r} is not a number")
                continue
            if points is not None and not 0 <= points <= items[item]:
                errors.append(f"{where}: {points:g} points is outside 0..{items[item]:g}, the item's maximum")
                continue
            marks[(student, item)] = ManualMark(points, (row["comment"] or "").strip())
    if errors:
        raise ManualMarksError("the manual marks cannot be merged:\n  " + "\n  ".join(errors))
    return marks
