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


def write_feedback(assignment, student: str, run_dir: Path, grade: dict, run: dict, manual: list[dict], path: Path) -> None:
    e = html.escape
    total, auto_max = grade.get("total", 0.0), grade.get("max", 0.0)
    parts = [f"<!doctype html><meta charset=utf-8><title>{e(assignment.title)}: {e(student)}</title><style>{_STYLE}</style>",
             f"<h1>{e(assignment.title)}</h1><p>Student: <b>{e(student)}</b> · profile: {e(str(run.get('profile', '?')))}"
             f" · auto-graded: <b>{total:g} / {auto_max:g}</b></p>"]
    status = run.get("status", "not run")
    if status != "ok":
        parts.append(f"<p class=warn>Your notebook did not run cleanly: <b>{e(status)}</b>: {e(run.get('reason', ''))}</p>")
    for warning in run.get("warnings", []):
        parts.append(f"<p class=warn>{e(warning)}</p>")
    standins = [n for n, s in run.get("data", {}).items() if s == "standin"]
    if standins:
        parts.append(f"<p class=warn>Smoke marks on stand-in data ({e(', '.join(standins))}): not a course mark.</p>")
    if grade.get("grading_error"):
        parts.append("<p class=warn>The graders could not run on this submission; a member of staff will look at it.</p>")
    parts.append("<h2>Auto-graded items</h2><table><tr><th>item</th><th>points</th><th>why</th></tr>")
    for item in grade.get("items", []):
        cls = "full" if item["points"] >= item["max"] else "part" if item["points"] > 0 else "zero"
        parts.append(f"<tr class={cls}><td>{e(item['id'])}</td><td class=pts>{item['points']:g} / {item['max']:g}</td>"
                     f"<td>{e(item['reason'])}</td></tr>")
    parts.append("</table>")
    if manual:
        parts.append("<h2>Marked by staff</h2><table><tr><th>item</th><th>points</th></tr>")
        parts += [f"<tr><td>{e(m['id'])}</td><td class=pts>– / {m['points']:g}</td></tr>" for m in manual]
        parts.append("</table>")
    plots = _plots(run_dir)
    if plots:
        parts.append("<h2>Your plots</h2>")
        parts += [f"<p>Cell {n}:</p><img alt='plot from cell {n}' src='data:image/png;base64,{png}'>" for n, png in plots]
    atomic.write_text(path, "\n".join(parts))
