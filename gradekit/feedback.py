"""One HTML page per student and assignment: every item with its points and reason, the manual items
still to be marked, and the student's own plots from the executed notebook.

Reasons come from graders, whose messages never carry expected values; nothing else from the answer key
is read here."""
from __future__ import annotations

import html
from pathlib import Path

import nbformat

from gradekit import atomic

_STYLE = """body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}
.full{background:#e8f5e9}.part{background:#fff8e1}.zero{background:#ffebee}.warn{background:#fff3cd;padding:.6em;border-radius:4px}
img{max-width:100%;border:1px solid #eee;margin:.4em 0}td.pts{white-space:nowrap;text-align:right}"""


def _plots(run_dir: Path, limit: int = 24) -> list[tuple[int, str]]:
    found = []
    for path in run_dir.glob("*.ipynb"):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:
            return []
        for number, cell in enumerate((c for c in nb.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])), 1):
            for output in cell.get("outputs", []):
                png = output.get("data", {}).get("image/png") if "data" in output else None
                if png:
                    found.append((number, png.replace("\n", "")))
    return found[:limit]


def write_feedback(assignment, student: str, run_dir: Path, marks, manual: list[dict], path: Path) -> None:
    """`marks`: the student's gradekit.marks.StudentMarks (auto grade, run, manual marks, lateness, final)."""
    e = html.escape
    grade, run = marks.grade, marks.run
    parts = [f"<!doctype html><meta charset=utf-8><title>{e(assignment.title)}: {e(student)}</title><style>{_STYLE}</style>",
             f"<h1>{e(assignment.title)}</h1><p>Student: <b>{e(student)}</b> · profile: {e(run.profile if run else '?')}"
             f" · auto-graded: <b>{grade.total:g} / {grade.max:g}</b></p>"]
    if run is None:
        parts.append("<p class=warn>Your submission has not been run yet.</p>")
    else:
        if run.status != "ok":
            parts.append(f"<p class=warn>Your notebook did not run cleanly: <b>{e(run.status)}</b>: {e(run.reason)}</p>")
        parts += [f"<p class=warn>{e(w)}</p>" for w in run.warnings]
        if run.standins:
            parts.append(f"<p class=warn>Smoke marks on stand-in data ({e(', '.join(run.standins))}): not a course mark.</p>")
        if run.rebuilt:
            parts.append(f"<p>Data: course file rebuilt by the kit ({e(', '.join(run.rebuilt))}).</p>")
    if grade.attention:
        parts.append("<p class=warn>Some of your work could not be graded automatically because of a problem on our "
                     "side, not yours; a member of staff will look at it and your mark is not final yet.</p>")
    parts.append("<h2>Auto-graded items</h2><table><tr><th>item</th><th>points</th><th>why</th></tr>")
    for item in grade.items:
        cls = "part" if item.needs_attention else "full" if item.points >= item.max else "part" if item.points > 0 else "zero"
        shown = f"– / {item.max:g}" if item.needs_attention else f"{item.points:g} / {item.max:g}"
        parts.append(f"<tr class={cls}><td>{e(item.id)}</td><td class=pts>{shown}</td><td>{e(item.reason)}</td></tr>")
    parts.append("</table>")
    if manual:
        parts.append("<h2>Marked by staff</h2><table><tr><th>item</th><th>points</th><th>comment</th></tr>")
        for m in manual:
            given = marks.manual.get(m["id"])
            shown = f"{given.points:g}" if given else "manual pending" if m["id"] in marks.pending else "not marked"
            bonus = " (bonus)" if m["bonus"] else ""
            parts.append(f"<tr><td>{e(m['id'])}</td><td class=pts>{shown} / {m['points']:g}{bonus}</td>"
                         f"<td>{e(given.comment) if given else ''}</td></tr>")
        parts.append("</table>")
    late = marks.lateness
    if late and late.explanation:
        cost = f" Penalty: {marks.penalty:g} points." if marks.penalty else ""
        parts.append(f"<h2>Submission time</h2><p>{e(late.explanation)}.{cost}</p>")
    if marks.final is not None:
        parts.append(f"<p><b>Final mark: {marks.final:g}</b></p>")
    elif marks.pending or grade.attention:
        parts.append("<p>Final mark: not yet: some items are still to be marked by staff.</p>")
    plots = _plots(run_dir)
    if plots:
        parts.append("<h2>Your plots</h2>")
        parts += [f"<p>Cell {n}:</p><img alt='plot from cell {n}' src='data:image/png;base64,{png}'>" for n, png in plots]
    atomic.write_text(path, "\n".join(parts))
