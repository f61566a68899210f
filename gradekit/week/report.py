"""`gradekit report`: which questions went badly. Per item the mean, the share of full and of zero credit,
the corrected item-total correlation (an item that does not track the rest is worth a second look), the
most frequent failure reasons (the checks' own words, never expected values) and a histogram; the runs'
outcomes counted; the distribution plot of `gradekit marks`."""
from __future__ import annotations

import base64
import re
import statistics
from collections import Counter
from pathlib import Path

import jinja2

from gradekit.platform import atomic
from gradekit.records import OUTCOMES

_TEMPLATE = jinja2.Template("""<!doctype html><meta charset=utf-8><title>{{ title }}: report</title>
<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
td.n{text-align:right;white-space:nowrap}.bad{background:#ffebee}ul{margin:0;padding-left:1.1em}</style>
<h1>{{ title }}</h1><p>{{ n }} students · {{ max_total }} points</p>
<h2>Runs</h2><table><tr>{% for k, v in outcomes %}<th>{{ k }}</th>{% endfor %}</tr>
<tr>{% for k, v in outcomes %}<td class=n>{{ v }}</td>{% endfor %}</tr></table>
{% if plot %}<h2>Distribution</h2><img alt="distribution of auto-graded totals" src="data:image/png;base64,{{ plot }}">{% endif %}
<h2>Items</h2><p>Sorted by mean share of the item's points, lowest first. r: correlation of the item with the
rest of the total (low or negative: the item measures something else, or its grader does).</p>
<table><tr><th>item</th><th>max</th><th>mean</th><th>full</th><th>zero</th><th>r</th><th>points given</th><th>most frequent reasons for lost points</th></tr>
{% for i in items %}<tr{% if i.share < 0.5 %} class=bad{% endif %}><td>{{ i.id }}</td><td class=n>{{ i.max }}</td>
<td class=n>{{ i.mean }}</td><td class=n>{{ i.full }}</td><td class=n>{{ i.zero }}</td><td class=n>{{ i.r }}</td><td>{{ i.svg }}</td>
<td><ul>{% for reason, count in i.reasons %}<li>{{ count }} × {{ reason }}</li>{% endfor %}</ul></td></tr>{% endfor %}
</table>""", autoescape=True)


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def _correlation(xs: list[float], ys: list[float]) -> str:
    if len(xs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return "–"
    return f"{statistics.correlation(xs, ys):.2f}"


def _histogram(values: list[float], maximum: float) -> jinja2.runtime.Markup:
    """A small bar chart of how many students got each number of points (an SVG, no file)."""
    counts = Counter(round(v, 2) for v in values)
    keys = sorted(counts)[:12]
    top = max(counts.values(), default=1)
    bars = "".join(f"<rect x='{i * 16}' y='{30 - 28 * counts[k] / top:.1f}' width='13' height='{28 * counts[k] / top:.1f}' "
                   f"fill='#4c72b0'><title>{k:g} points: {counts[k]} students</title></rect>" for i, k in enumerate(keys))
    return jinja2.utils.markupsafe.Markup(f"<svg width='{16 * len(keys)}' height='32'>{bars}</svg>")


def _reason(text: str) -> tuple[str, str]:
    """(grouping key, text shown): the run's own story in brackets is dropped, and reasons that differ only
    in the student's numbers fall in one group (shown with the first student's numbers)."""
    shown = re.sub(r"\s*\(the run: .*\)\s*$", "", text.strip())[:160]
    return re.sub(r"\d+(\.\d+)?", "#", shown), shown


def item_table(sheet) -> list[dict]:
    """Per item (auto and manual) its statistics over the students with a mark for it."""
    students = list(sheet.students.values())
    scores: dict[str, dict[str, float]] = {}
    maxima, reasons = {}, {}
    for sm in students:
        for item in sm.grade.items:
            maxima[item.id] = item.max
            if item.needs_attention:
                continue
            scores.setdefault(item.id, {})[sm.student] = item.points
            if item.points < item.max and item.reason:
                key, shown = _reason(item.reason)
                group = reasons.setdefault(item.id, {})
                group.setdefault(key, [shown, 0])[1] += 1
        for item, mark in sm.manual.items():
            scores.setdefault(item, {})[sm.student] = mark.points
    totals = {sm.student: sum(s.get(sm.student, 0.0) for s in scores.values()) for sm in students}
    table = []
    for item, got in scores.items():
        maximum = maxima.get(item, sheet.manual_maxima.get(item, 0.0))
        values = list(got.values())
        mean = statistics.fmean(values) if values else 0.0
        rest = [totals[s] - got[s] for s in got]
        table.append({"id": item, "max": f"{maximum:g}", "mean": f"{mean:.2f}", "share": mean / maximum if maximum else 1.0,
                      "full": _pct(sum(v >= maximum for v in values) / len(values)),
                      "zero": _pct(sum(v <= 0 for v in values) / len(values)), "r": _correlation(values, rest),
                      "svg": _histogram(values, maximum),
                      "reasons": sorted(reasons.get(item, {}).values(), key=lambda g: -g[1])[:3]})
    return sorted(table, key=lambda row: row["share"])


def outcomes(sheet) -> list[tuple[str, int]]:
    counted = Counter(sm.status for sm in sheet.students.values())
    counted["needs attention"] = sum(1 for sm in sheet.students.values() if sm.grade.attention)
    counted["flagged: another variant's answers"] = sum(1 for sm in sheet.students.values() if sm.grade.flags)
    order = list(OUTCOMES)
    return [(k, counted.get(k, 0)) for k in order] + sorted((k, v) for k, v in counted.items() if k not in order)


def write_report(assignment, sheet, out: Path, plot: Path | None) -> Path:
    image = base64.b64encode(plot.read_bytes()).decode() if plot and plot.exists() else ""
    atomic.write_text(out, _TEMPLATE.render(title=assignment.title, n=len(sheet.students), max_total=f"{sheet.max_total:g}",
                                            outcomes=outcomes(sheet), plot=image, items=item_table(sheet)))
    return out
