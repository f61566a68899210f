"""`gradekit similarity`: the planted-copy corpus (recall and precision), the release's code removed, the
reference corpora, the report as evidence with its fragments escaped."""
from __future__ import annotations

import csv
import json

import pytest

from conftest import gradekit
from course_week import week_course
from similarity_corpus import build, honest_parts, notebook, renamed
from gradekit.week.similarity import compare, documents
from gradekit.week.similarity_report import CLUSTER_AT


def test_the_planted_copies_are_found_and_honest_work_is_not(tmp_path):
    """Verbatim, renamed, reordered, reformatted, renamed and reordered, and pieces of two sources, among
    independent honest work: at the report's cluster threshold and among the top-ranked pairs."""
    paths, planted = build(tmp_path / "corpus")
    pairs = compare(documents(paths, [], {}))
    flagged = [p for p in pairs if p.score >= CLUSTER_AT]
    found = sum(frozenset((p.a, p.b)) in planted for p in flagged)
    recall, precision = found / len(planted), found / len(flagged)
    top = sum(frozenset((p.a, p.b)) in planted for p in pairs[:len(planted)]) / len(planted)
    print(f"planted pairs {len(planted)}, flagged {len(flagged)}: recall {recall:.2f}, precision {precision:.2f}; "
          f"top-{len(planted)} precision {top:.2f}")
    assert recall >= 0.95 and precision >= 0.9 and top >= 0.9


def _submit(course, student: str, cells: list[str]) -> None:
    folder = course / "submitted" / student / "tiny"
    folder.mkdir(parents=True)
    (folder / "tiny.ipynb").write_text(notebook(cells))


@pytest.mark.slow   # 5 s: a release and the CLI (the fast lane keeps the planted corpus)
def test_a_course_with_the_release_removed_and_a_reference_corpus(tmp_path):
    course = week_course(tmp_path / "course", due=False)
    gradekit("release", "tiny", cwd=course)
    release = json.loads((course / "release" / "tiny" / "tiny.ipynb").read_text())
    given = ["".join(c["source"]) for c in release["cells"] if c["cell_type"] == "code"]
    own = honest_parts()["ee046211_hw2_p1"] + ['print("<script>alert(1)</script>")']
    _submit(course, "s001", given + own)
    _submit(course, "s002", given + renamed(own, 3))
    _submit(course, "s003", given)            # the release as it was handed out
    _submit(course, "s004", given)
    corpus = tmp_path / "llm"
    corpus.mkdir()
    (corpus / "chatbot_answer.ipynb").write_text(notebook(own))
    (corpus / "another_answer.ipynb").write_text(notebook(own))
    out = gradekit("similarity", "tiny", "--reference", f"llm={corpus}", cwd=course).stdout
    rows = list(csv.DictReader((course / "marks" / "tiny_similarity.csv").open()))
    pairs = {(r["student_a"], r["student_b"]): r for r in rows}
    assert float(pairs[("s001", "s002")]["score"]) > 0.9
    assert pairs[("s001", "llm/chatbot_answer")]["reference"] == "llm"   # this year first, the reference second
    assert ("llm/another_answer", "llm/chatbot_answer") not in pairs, "references are never compared with each other"
    assert not any("s003" in pair or "s004" in pair for pair in pairs), "the release's own code scores nothing"
    assert "clusters: 1" in out and "s001, s002" in out
    page = (course / "marks" / "tiny_similarity.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert "never a penalty by itself" in page.lower() or "not a finding" in page
    assert "Not compared (too little code of their own): s003, s004" in page
