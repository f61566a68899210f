"""marks/<A>_similarity.csv (every compared pair) and .html (the pairs worth a person's reading, with the
shared fragments side by side, and the clusters), from gradekit.week.similarity."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from gradekit.platform import atomic
from gradekit.platform.untrusted import for_spreadsheet
from gradekit.week.pages import render
from gradekit.course import Assignment
from gradekit.week.similarity import NOISE, Document, Pair, clusters, code_cells, compare, documents, fragments

SHOWN = 40            # pairs with their fragments in the HTML
CLUSTER_AT = 0.3      # pairs at or above this link a cluster (planted copies: 0.49 and up; honest work: 0.2 and under)

_PAGE = """<!doctype html><meta charset=utf-8><title>{{ title }}: similarity</title>
<style>body{font-family:system-ui,sans-serif;max-width:1400px;margin:2em auto;color:#222}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
.note{background:#eef4fb;padding:.7em;border-radius:4px}.side{display:grid;grid-template-columns:1fr 1fr;gap:1em}
pre{background:#fafafa;border:1px solid #eee;padding:.5em;overflow:auto;max-height:32em;font-size:12px;white-space:pre-wrap}
mark{background:#ffe08a}</style>
<h1>{{ title }}: code shared between submissions</h1>
<p class=note>A score is the share of a notebook's own code (the release's cells and lines removed) that is also in
the other notebook, after names, strings and numbers are abstracted and layout ignored: the larger of the two
shares. It is evidence for a person to read, not a finding: a shared tutorial, a lecture's helper or a
common idiom also match, and a low score does not prove independent work. Never a penalty by itself.</p>
<p>{{ n_students }} notebooks{% if references %} and {{ n_references }} from the reference corpora ({{ references|join(", ") }}:
compared with this year's only){% endif %}; {{ pairs|length }} pairs share code; fingerprints: copydetect (k = {{ k }}).
{% if skipped %}Not compared (too little code of their own): {{ skipped|join(", ") }}.{% endif %}</p>
{% if groups %}<h2>Clusters (linked by pairs scoring {{ cluster_at }} or more)</h2><ul>
{% for g in groups %}<li>{{ g|join(", ") }}</li>{% endfor %}</ul>{% endif %}
<h2>Pairs, highest first</h2><table><tr><th>#</th><th>a</th><th>b</th><th>score</th><th>of a</th><th>of b</th></tr>
{% for p in pairs[:shown] %}<tr><td>{{ loop.index }}</td><td>{{ p.a }}</td><td>{{ p.b }}</td><td>{{ "%.2f"|format(p.score) }}</td>
<td>{{ "%.0f%%"|format(100 * p.share_a) }}</td><td>{{ "%.0f%%"|format(100 * p.share_b) }}</td></tr>{% endfor %}</table>
{% for p, left, right in shown_pairs %}<details{{ " open" if loop.index <= 3 }}><summary>#{{ loop.index }} {{ p.a }} and {{ p.b }}: {{ "%.2f"|format(p.score) }}</summary>
<div class=side><div><b>{{ p.a }}</b><pre>{% for text, hit in left %}{% if hit %}<mark>{{ text }}</mark>{% else %}{{ text }}{% endif %}{% endfor %}</pre></div>
<div><b>{{ p.b }}</b><pre>{% for text, hit in right %}{% if hit %}<mark>{{ text }}</mark>{% else %}{{ text }}{% endif %}{% endfor %}</pre></div></div></details>
{% endfor %}
"""


@dataclass(frozen=True)
class Written:
    csv: Path
    html: Path
    pairs: int
    clusters: list[list[str]]


def _segments(code: str, slices) -> list[tuple[str, bool]]:
    """The code cut into (text, shared) runs along the matched slices."""
    out, at = [], 0
    for start, end in sorted(slices):
        start, end = max(start, at), min(end, len(code))
        if start > at:
            out.append((code[at:start], False))
        if end > start:
            out.append((code[start:end], True))
            at = end
    return out + ([(code[at:], False)] if at < len(code) else [])


def write(title: str, docs: list[Document], pairs: list[Pair], out_csv: Path, out_html: Path) -> Written:
    by_name = {d.name: d for d in docs}
    reference = {d.name: d.reference for d in docs}
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["student_a", "student_b", "score", "share_a", "share_b", "shared_fingerprints", "reference"])
    for p in pairs:
        writer.writerow([for_spreadsheet(v) for v in (p.a, p.b, p.score, p.share_a, p.share_b, p.fingerprints,
                                                       reference[p.a] or reference[p.b])])
    atomic.write_text(out_csv, text.getvalue())
    groups = clusters(pairs, CLUSTER_AT)
    shown = []
    for p in pairs[:SHOWN]:
        a, b = by_name[p.a], by_name[p.b]
        slices_a, slices_b = fragments(a, b)
        shown.append((p, _segments(a.code, slices_a), _segments(b.code, slices_b)))
    corpora = sorted({d.reference for d in docs if d.reference})
    atomic.write_text(out_html, render(
        _PAGE, title=title, pairs=pairs, shown=SHOWN, shown_pairs=shown, groups=groups, cluster_at=CLUSTER_AT,
        n_students=sum(not d.reference for d in docs), n_references=sum(bool(d.reference) for d in docs),
        references=corpora, k=NOISE, skipped=[d.name for d in docs if not d.comparable]))
    return Written(out_csv, out_html, len(pairs), groups)


def similarity(assignment: Assignment, references: dict[str, Path], submitted: Path | None = None) -> Written:
    """This year's submitted notebooks against each other and against the reference corpora (folders of
    notebooks), the release's code removed -> marks/<A>_similarity.csv and .html."""
    folders = assignment.folders(submitted)
    students = {s: folders.submission(s) / assignment.notebook_name for s in folders.students()}
    released = assignment.release_dir / assignment.notebook_name
    docs = documents({s: p for s, p in students.items() if p.is_file()},
                     code_cells(released) if released.is_file() else [],
                     {name: sorted(folder.rglob("*.ipynb")) for name, folder in references.items()})
    marks = assignment.course.marks
    return write(assignment.title, docs, compare(docs), marks / f"{assignment.name}_similarity.csv",
                 marks / f"{assignment.name}_similarity.html")
