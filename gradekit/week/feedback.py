"""One HTML page per student and assignment: every item with its points and reason, the manual items
still to be marked, and the student's own plots from the executed notebook.

Reasons come from graders, whose messages never carry expected values; nothing else from the answer key
is read here."""
from __future__ import annotations

from pathlib import Path

from gradekit.course.feedback_policy import FeedbackPolicy
from gradekit.platform import atomic
from gradekit.week.pages import images_of, render
from gradekit.platform.untrusted import MAX_NOTEBOOK_BYTES, UntrustedData, read_json

_PAGE = """<!doctype html><meta charset=utf-8><title>{{ a.title }}: {{ student }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}
.full{background:#e8f5e9}.part{background:#fff8e1}.zero{background:#ffebee}.warn{background:#fff3cd;padding:.6em;border-radius:4px}
img{max-width:100%;border:1px solid #eee;margin:.4em 0}td.pts{white-space:nowrap;text-align:right}</style>
<h1>{{ a.title }}</h1><p>Student: <b>{{ student }}</b> · profile: {{ run.profile if run else "?" }} · auto-graded: <b>{{ "%g"|format(grade.total) }} / {{ "%g"|format(grade.max) }}</b></p>
{% if variant %}<p>Your variant: seed <b>{{ variant.seed }}</b>; your values: <code>{{ variant.values|tojson }}</code></p>{% endif %}
{% if run is none %}<p class=warn>Your submission has not been run yet.</p>
{% else %}
{% if run.status != "ok" %}<p class=warn>Your notebook did not run cleanly: <b>{{ run.status }}</b>: {{ run.reason }}</p>{% endif %}
{% for w in run.warnings %}<p class=warn>{{ w }}</p>{% endfor %}
{% if run.standins %}<p class=warn>{{ "Smoke marks" if run.profile == "smoke" else "Marks" }} on stand-in data ({{ run.standins|join(", ") }}): not a course mark.</p>{% endif %}
{% if run.rebuilt %}<p>Data: course file rebuilt by the kit ({{ run.rebuilt|join(", ") }}).</p>{% endif %}
{% endif %}
{% if run is not none and run.tasks|length > 1 %}<h2>Your notebook, task by task</h2><table><tr><th>task</th><th>outcome</th><th>why</th></tr>
{% for t in run.tasks %}<tr class={{ "full" if t.status == "ok" else "zero" }}><td>{{ t.name }}</td><td>{{ t.status }}</td><td>{{ t.reason }}{% if t.restart_s is not none %} (the kernel was restarted before this task, {{ "%g"|format(t.restart_s) }} s){% endif %}</td></tr>
{% endfor %}</table>{% endif %}
{% if policy.errors and run is not none and run.errors %}<h2>Cells that raised, timed out or stopped</h2><table><tr><th>cell</th><th>error</th></tr>
{% for e in run.errors %}<tr><td>{{ e.label or ("code cell %d"|format(e.cell)) }}{% if e.task and run.tasks|length > 1 %}<br><small>{{ e.task }}</small>{% endif %}</td><td><b>{{ e.ename }}</b>: {{ e.evalue }}</td></tr>
{% endfor %}</table>{% endif %}
{% if grade.attention %}<p class=warn>Some of your work could not be graded automatically because of a problem on our side, not yours; a member of staff will look at it and your mark is not final yet.</p>{% endif %}
{% if policy.items %}<h2>Auto-graded items</h2><table><tr><th>item</th><th>points</th>{% if policy.reasons %}<th>why</th>{% endif %}</tr>
{% for item in grade.items %}
<tr class={{ "part" if item.needs_attention else "full" if item.points >= item.max else "part" if item.points > 0 else "zero" }}><td>{{ item.id }}</td>
<td class=pts>{% if item.needs_attention %}– / {{ "%g"|format(item.max) }}{% else %}{{ "%g"|format(item.points) }} / {{ "%g"|format(item.max) }}{% endif %}</td>{% if policy.reasons %}<td>{{ item.reason }}</td>{% endif %}</tr>
{% endfor %}</table>{% endif %}
{% if manual %}<h2>Marked by staff</h2><table><tr><th>item</th><th>points</th><th>comment</th></tr>
{% for m in manual %}<tr><td>{{ m.id }}</td><td class=pts>{{ m.shown }} / {{ "%g"|format(m.points) }}{{ " (bonus)" if m.bonus }}</td><td>{{ m.comment }}</td></tr>
{% endfor %}</table>{% endif %}
{% if late and late.explanation %}<h2>Submission time</h2><p>{{ late.explanation }}.{% if marks.penalty %} Penalty: {{ "%g"|format(marks.penalty) }} points.{% endif %}</p>{% endif %}
{% if marks.final is not none %}<p><b>Final mark: {{ "%g"|format(marks.final) }}</b></p>
{% elif marks.pending or grade.attention %}<p>Final mark: not yet: some items are still to be marked by staff.</p>{% endif %}
{% if log %}<h2>The last lines of your run's log</h2><pre>{{ log }}</pre>{% endif %}
{% if plots %}<h2>Your plots</h2>
{% for where, uri in plots %}<p>{{ where }}:</p><img alt="plot from {{ where }}" src="{{ uri }}">
{% endfor %}{% endif %}
"""


def _plots(run_dir: Path, run, limit: int = 24) -> list[tuple[str, str]]:
    """(cell, checked data URI) of the images in the executed notebook, read as bounded JSON; cells are
    named as the run's reasons name them."""
    labels = {c.id: c.label for c in run.cells if c.id} if run is not None else {}
    found = []
    for path in run_dir.glob("*.ipynb"):
        try:
            nb = read_json(path, MAX_NOTEBOOK_BYTES)
            cells = [c for c in nb.get("cells", []) if isinstance(c, dict)]
        except (UntrustedData, OSError, AttributeError):
            return []
        code = (c for c in cells if c.get("cell_type") == "code"
                and not {"injected-parameters", "papermill-error-cell-tag"} & set(c.get("metadata", {}).get("tags", [])))
        for number, cell in enumerate(code, 1):
            where = labels.get(cell.get("id")) or f"code cell {number}"
            for output in cell.get("outputs", []) if isinstance(cell.get("outputs"), list) else []:
                found += [(where, uri) for uri in images_of(output)]
    return found[:limit]


MAX_LOG_BYTES = 1 << 20   # of the run's log, read from its end


def log_tail(run_dir: Path, lines: int) -> str:
    """The last `lines` lines of the run's log (the student's own output), read bounded from the end."""
    path = run_dir / "run.log"
    if lines <= 0 or not path.is_file() or path.is_symlink():
        return ""
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - MAX_LOG_BYTES))
        text = f.read(MAX_LOG_BYTES).decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def lost_items(marks, policy: FeedbackPolicy) -> list[str]:
    """'item 1 / 3: reason' for each auto item that lost points, as the policy lets the student see it."""
    if not policy.items:
        return []
    lost = [i for i in marks.grade.items if i.points < i.max and not i.needs_attention]
    return [f"{i.id} {i.points:g} / {i.max:g}" + (f": {i.reason}" if policy.reasons and i.reason else "") for i in lost]


def write_feedback(assignment, run_dir: Path, marks, manual: list[dict], path: Path,
                   policy: FeedbackPolicy = FeedbackPolicy()) -> None:
    """`marks`: the student's gradekit.week.marks.StudentMarks (auto grade, run, manual marks, lateness, final)."""
    rows = []
    for m in manual:
        given = marks.manual.get(m.id)
        shown = (f"{given.points:g}" if given and given.points is not None else
                 "manual pending" if m.id in marks.pending else "not marked")
        rows.append({"id": m.id, "points": m.points, "bonus": m.bonus, "shown": shown,
                     "comment": given.comment if given else ""})
    plots = _plots(run_dir, marks.run) if policy.plots else []
    atomic.write_text(path, render(_PAGE, a=assignment, student=marks.student, run=marks.run, grade=marks.grade,
                                   manual=rows, late=marks.lateness, marks=marks, plots=plots, policy=policy,
                                   log=log_tail(run_dir, policy.log_lines), variant=stored_variant(assignment, marks.student)))


def stored_variant(assignment, student: str):
    """The student's own variant (gradekit.course.variants.Variant) as stored, or None."""
    book = assignment.variant_book()
    return book.students.get(student) if book is not None else None


_MARKDOWN_SPECIAL = set("\\`*_[]|$#<>&{}!~")


def _md(text: str) -> str:
    """Text (a reason may quote the student's own error) as literal Markdown: every character that Markdown,
    HTML or math would read is written as an entity."""
    return "".join(f"&#{ord(c)};" if c in _MARKDOWN_SPECIAL else c for c in " ".join(str(text).split()))


def summary_markdown(assignment, marks, policy: FeedbackPolicy) -> str:
    """The feedback page's essentials as a Markdown cell, for the top of the notebook handed back."""
    lines = [f"# Feedback: {_md(assignment.title)}", "",
             f"**Auto-graded: {marks.grade.total:g} / {marks.grade.max:g}**"
             + (f" · marked by staff: {marks.manual_total:g}" if marks.manual else "")
             + (f" · late penalty: -{marks.penalty:g}" if marks.penalty else "")
             + (f" · **final mark: {marks.final:g}**" if marks.final is not None else "")]
    if policy.items:
        lines += ["", "| item | points |" + (" why |" if policy.reasons else ""),
                  "|---|---|" + ("---|" if policy.reasons else "")]
        for item in marks.grade.items:
            points = f"– / {item.max:g}" if item.needs_attention else f"{item.points:g} / {item.max:g}"
            lines.append(f"| {_md(item.id)} | {points} |" + (f" {_md(item.reason)} |" if policy.reasons else ""))
    staff = [f"- {_md(item)}: {m.points:g} point{'' if m.points == 1 else 's'}" + (f", {_md(m.comment)}" if m.comment else "")
             for item, m in marks.manual.items() if m.points is not None]
    lines += ["", "Marked by staff:", "", *staff] if staff else []
    return "\n".join(lines) + "\n\n*Written by gradekit; the cells below are your notebook as the grader ran it.*"
