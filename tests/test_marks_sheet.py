"""What a new instructor meets around the mark sheet and the declaration (issue 22's mends): a row for
every student of the roster and every collected submission, the sheet printed, a warning when two versions
of the graders made its grades; `check` reading assignment.toml with the kit's own parsers; one-line
errors with an exit code from the CLI only. Records are written by hand: nothing is run (seconds)."""
from __future__ import annotations

import csv

from conftest import gradekit
from course_week import notebook, week_course
from gradekit.records import GradeReport, ItemResult, RunRecord


def _graded(course, student: str, points: float, graders: str) -> None:
    run_dir = course / "autograded" / student / "tiny"
    run_dir.mkdir(parents=True)
    RunRecord(student, "tiny", status="ok", reason="all cells ran", profile="smoke", input_sha256="x").save(run_dir)
    GradeReport([ItemResult("tiny.answer", 2, points, "passed" if points else "failed")], profile="smoke",
                graders_sha256=graders).save(run_dir)
    (course / "submitted" / student / "tiny").mkdir(parents=True)


def test_every_student_has_a_row_and_the_sheet_is_printed(tmp_path):
    course = week_course(tmp_path / "course")   # roster: s001..s004
    _graded(course, "s001", 2, "aaa")
    _graded(course, "s003", 0, "bbb")
    (course / "submitted" / "s002" / "tiny").mkdir(parents=True)   # collected, not run yet
    (course / "submitted" / "s002" / "tiny" / "tiny.ipynb").write_bytes(notebook())
    (course / "marks").mkdir()
    (course / "marks" / "tiny_manual.csv").write_text("student,item,points,comment\ns002,tiny-explain,1,fine\n")

    done = gradekit("marks", "tiny", cwd=course, check=False)
    assert done.returncode == 1, "s002's marks are not final: its run is missing"
    rows = {r["student"]: r for r in csv.DictReader((course / "marks" / "tiny.csv").open())}
    assert [rows[s]["run_status"] for s in ("s001", "s002", "s003", "s004")] == ["ok", "not run", "ok", "no submission"]
    assert rows["s004"]["final"] == "" and rows["s002"]["final"] == "" and rows["s002"]["tiny-explain (manual)"] == "1"
    assert "NEEDS ATTENTION: 1 student has" in done.stdout and "s004" not in done.stdout.split("student ")[0]
    table = done.stdout[done.stdout.index("student "):]
    assert "s002" in table and "not run" in table and "no submission" in table and "(max)" in table
    assert "warning: the grades were made by 2 different versions of grader_tests/" in done.stdout
    assert not (course / "feedback" / "s004").exists(), "no page for a student who handed nothing in"
    assert (course / "feedback" / "s001" / "tiny.html").stat().st_mode & 0o044 == 0o044, "readable by the group"


def test_check_reads_the_declaration_with_the_kits_own_parsers(tmp_path):
    from gradekit.authoring.check import check
    from gradekit.course import Course

    course = week_course(tmp_path / "course")   # declares due and [late], which the kit reads
    report = check(Course(course).assignment("tiny"), items=False)
    assert report.errors == [] and not any("not read by the kit" in w for w in report.warnings), report.summary()
    toml = course / "source" / "tiny" / "assignment.toml"
    toml.write_text('hand_in = "weights.pt"\ncolour = "blue"\n' + toml.read_text().replace(
        "percent_per_day = 10", "percent_per_day = 10\npercent_per_hour = 1"))
    bad = check(Course(course).assignment("tiny"), items=False).summary()
    assert "gives both percent_per_day and percent_per_hour" in bad and "hand_in must be a list" in bad
    assert "key 'colour' is not read by the kit" in bad


def test_errors_are_one_line_with_an_exit_code(tmp_path):
    outside = gradekit("run", "tiny", cwd=tmp_path, check=False)
    assert outside.returncode == 2 and "Traceback" not in outside.stderr
    assert outside.stderr.strip().count("\n") == 0 and "not inside a course repository" in outside.stderr
    course = week_course(tmp_path / "course")
    unknown = gradekit("grade", "nope", cwd=course, check=False)
    assert unknown.returncode == 2 and "no assignment 'nope'" in unknown.stderr and "(known: tiny, vary)" in unknown.stderr
    grade_help = gradekit("grade", "--help", cwd=course).stdout
    assert "--student STUDENT" in grade_help and "re-grade" in grade_help
