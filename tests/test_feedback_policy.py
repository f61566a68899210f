"""What the students' feedback shows (`[feedback]` of assignment.toml) and how it reads in the LMS's comment
field and in the notebook handed back. Records are written by hand: nothing is run (seconds)."""
from __future__ import annotations

from conftest import gradekit
from course_week import week_course
from gradekit.course import Course
from gradekit.records import GradeReport, ItemResult, RunRecord

HOSTILE_REASON = "double(x) raised ValueError: <script>alert(1)</script> | **bold** $x$ =cmd|' /C calc'!A0"


def _graded(course, student: str) -> None:
    run_dir = course / "autograded" / student / "tiny"
    run_dir.mkdir(parents=True)
    RunRecord(student, "tiny", status="ok", reason="all cells ran", profile="smoke", input_sha256="x").save(run_dir)
    (run_dir / "run.log").write_text("".join(f"line {i}\n" for i in range(100)) + "the last line <b>\n")
    GradeReport([ItemResult("tiny.answer", 2, 2, "passed", "correct"),
                 ItemResult("tiny.double", 2, 0, "failed", HOSTILE_REASON)], profile="smoke").save(run_dir)
    (course / "submitted" / student / "tiny").mkdir(parents=True)


def _declare(course, text: str) -> None:
    toml = course / "source" / "tiny" / "assignment.toml"
    toml.write_text(toml.read_text() + "\n[feedback]\n" + text)


def test_the_defaults_show_items_reasons_and_no_log(tmp_path):
    course = week_course(tmp_path / "course", due=False)
    _graded(course, "s001")
    gradekit("marks", "tiny", cwd=course, check=False)
    page = (course / "feedback" / "s001" / "tiny.html").read_text()
    assert "tiny.double" in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert "the last line" not in page and "log" not in page.lower().split("<h1>")[1]


def test_the_instructor_chooses_what_the_page_shows(tmp_path):
    course = week_course(tmp_path / "course", due=False)
    _graded(course, "s001")
    _declare(course, "reasons = false\nlog_lines = 3\n")
    gradekit("marks", "tiny", cwd=course, check=False)
    page = (course / "feedback" / "s001" / "tiny.html").read_text()
    assert "tiny.double" in page and "alert" not in page and "correct" not in page
    assert "line 98\nline 99\nthe last line &lt;b&gt;</pre>" in page and "line 97" not in page
    toml = course / "source" / "tiny" / "assignment.toml"
    toml.write_text(toml.read_text().replace("reasons = false", "items = false"))
    gradekit("marks", "tiny", cwd=course, check=False)
    page = (course / "feedback" / "s001" / "tiny.html").read_text()
    assert "tiny.double" not in page and "auto-graded: <b>2 / 4</b>" in page


def test_check_refuses_a_malformed_feedback_table(tmp_path):
    from gradekit.authoring.check import check
    course = week_course(tmp_path / "course", due=False)
    _declare(course, "plots = 1\nlogs = 5\n")
    summary = check(Course(course).assignment("tiny"), items=False).summary()
    assert "[feedback] has unknown keys ['logs']" in summary


def test_the_lms_comment_lists_each_lost_item(tmp_path):
    from gradekit.week.feedback import summary_markdown
    from gradekit.week.marks import sheet_students, write_marks
    from gradekit.week.upload import comment
    course = week_course(tmp_path / "course", due=False)
    _graded(course, "s001")
    assignment = Course(course).assignment("tiny")
    sheet = write_marks(assignment, course / "autograded", sheet_students(assignment), course / "marks", course / "feedback")
    marks = sheet.students["s001"]
    policy = assignment.feedback_policy()
    assert comment(marks, policy).startswith("auto-graded 2 / 4. Lost: tiny.double 0 / 2: double(x) raised ValueError:")
    assert len(comment(marks, policy)) < 200, "short: the page has the rest"
    markdown = summary_markdown(assignment, marks, policy)
    assert "<script>" not in markdown and "**bold**" not in markdown and "$x$" not in markdown
    assert "| tiny.double | 0 / 2 |" in markdown
    quiet = type(policy)(comment_items=0)
    assert comment(marks, quiet) == "auto-graded 2 / 4."
