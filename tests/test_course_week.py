"""The instructor's week around a batch: collecting Moodle and Canvas archives into submitted/, late
penalties and extensions, manual marks, the LMSs' upload files (golden files) and the item report."""
from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

from conftest import gradekit
from course_week import WEEK, canvas_zip, moodle_zip, notebook, record, week_course, write_zip
from gradekit.course import Course
from gradekit.week.late import Extension, LatePolicy, assess


def tree(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def week(tmp_path):
    return week_course(tmp_path / "course")


def test_moodle_archive_every_shape(week, tmp_path):
    archive = moodle_zip(tmp_path / "moodle.zip")
    out = gradekit("collect", "tiny", str(archive), "--lms", "moodle", "--times", str(WEEK / "moodle_worksheet.csv"),
                   cwd=week).stdout
    assert tree(week / "submitted") == ["s001/tiny.source.json", "s001/tiny/tiny.ipynb", "s003/tiny.source.json",
                                        "s003/tiny/tiny.ipynb", "s004/tiny.source.json", "s004/tiny/tiny.ipynb"]
    assert "collected 3," in out and "needing a choice 1" in out
    assert "needs a choice: s002: 2 notebooks could be tiny.ipynb (final.ipynb, scratch.ipynb)" in out
    assert "refused: 'Alan Turing_4304_assignsubmission_file/../../../../evil.ipynb': its path leaves the archive" in out
    assert "assignsubmission_onlinetext" in out and "a group submission (Moodle group 17)" in out
    assert not list(tmp_path.rglob("evil.ipynb")), "nothing is written outside submitted/"
    grace = record(week, "s003")
    assert grace["identity"] == {"lms": "moodle", "id": "4303", "name": "Grace OHara", "anonymous": False}
    assert grace["submitted_at"] == "2026-03-04T01:30:00+11:00" and grace["submitted_at_from"] == "Moodle grading worksheet"
    assert grace["entries"] == ["Grace OHara_4303_assignsubmission_file_tiny.ipynb"] and len(grace["archive_sha256"]) == 64
    assert "late: s003: submitted 2026-03-04 01:30 +1100, due 2026-03-02 23:59 +1100: 1 d 1 h 31 min late, 2 started days" in out
    assert "late: s004:" in out and "late: s001" not in out

    again = gradekit("collect", "tiny", str(archive), "--lms", "moodle", cwd=week).stdout
    assert "collected 0, unchanged 3, replaced 0" in again   # matched by full name this time (no worksheet)
    assert record(week, "s003")["submitted_at"] == "2026-03-04T01:30:00+11:00", "the time known before is kept"
    (week / "submitted" / "s001" / "tiny" / "tiny.ipynb").write_bytes(notebook(double="x + x"))
    kept = gradekit("collect", "tiny", str(archive), "--lms", "moodle", cwd=week).stdout
    assert "kept, differs: s001" in kept and b"x + x" in (week / "submitted" / "s001" / "tiny" / "tiny.ipynb").read_bytes()
    replaced = gradekit("collect", "tiny", str(archive), "--lms", "moodle", "--replace", cwd=week).stdout
    assert "replaced 1," in replaced and b"x + x" not in (week / "submitted" / "s001" / "tiny" / "tiny.ipynb").read_bytes()


def test_moodle_blind_marking_and_names_without_a_roster(week, tmp_path):
    (week / "roster.csv").unlink()
    archive = write_zip(tmp_path / "m.zip", {"Participant_4301_assignsubmission_file_/tiny.ipynb": notebook(),
                                             "Ada Lovelace_4302_assignsubmission_file_tiny.ipynb": notebook()})
    out = gradekit("collect", "tiny", str(archive), "--lms", "moodle", cwd=week).stdout
    assert "no --roster: student ids are made from the LMS's names" in out
    assert tree(week / "submitted") == ["ada_lovelace/tiny.source.json", "ada_lovelace/tiny/tiny.ipynb",
                                        "participant_4301/tiny.source.json", "participant_4301/tiny/tiny.ipynb"]
    assert record(week, "participant_4301")["identity"]["anonymous"] is True


def test_canvas_archive(week, tmp_path):
    archive = canvas_zip(tmp_path / "canvas.zip")
    out = gradekit("collect", "tiny", str(archive), "--lms", "canvas", cwd=week).stdout
    assert tree(week / "submitted") == [f"{s}/{f}" for s in ("anon_x7Kq2", "s001", "s003", "s004")
                                        for f in ("tiny.source.json", "tiny/tiny.ipynb")]
    assert "a Canvas text entry submission" in out and "collected 4," in out
    assert record(week, "s004")["lms_late_flag"] is True and record(week, "s003")["lms_late_flag"] is False
    assert record(week, "s003")["entries"] == ["oharagrace_103_9004_tiny-1.ipynb"]   # a re-upload is still tiny.ipynb
    assert record(week, "anon_x7Kq2")["identity"]["anonymous"] and record(week, "anon_x7Kq2")["lms_late_flag"]
    assert record(week, "s001")["entries"] == ["lovelaceada_101_9001_s001_A1_solution.zip"]   # her own zip, opened
    assert record(week, "s001")["notebook_from"] == "s001_A1_solution/tiny.ipynb"
    assert "late: s004: the LMS flagged it late with no exact time: penalised as 1 started day (10 %)" in out
    times = tmp_path / "times.csv"
    times.write_text("user_id,submitted_at\n104,2026-03-03T02:00:00Z\n")
    gradekit("collect", "tiny", str(archive), "--lms", "canvas", "--times", str(times), cwd=week)
    assert record(week, "s004")["submitted_at"] == "2026-03-03T02:00:00+00:00"


def test_an_unknown_identity_stops_the_collection(week, tmp_path):
    archive = write_zip(tmp_path / "c.zip", {"lovelaceada_101_1_tiny.ipynb": notebook(),
                                             "babbagecharles_777_2_tiny.ipynb": notebook()})
    done = gradekit("collect", "tiny", str(archive), "--lms", "canvas", cwd=week, check=False)
    assert done.returncode == 2 and "Canvas user 777 (babbagecharles)" in done.stderr and "--add-unknown" in done.stderr
    assert not (week / "submitted").exists()
    out = gradekit("collect", "tiny", str(archive), "--lms", "canvas", "--add-unknown", cwd=week).stdout
    assert "collected as babbagecharles" in out and (week / "submitted" / "babbagecharles" / "tiny" / "tiny.ipynb").exists()


def test_bad_inputs_are_refused_and_change_nothing(week, tmp_path):
    gradekit("collect", "tiny", str(moodle_zip(tmp_path / "m.zip")), "--lms", "moodle", cwd=week)
    before = {p: p.read_bytes() for p in (week / "submitted").rglob("*") if p.is_file()}
    (tmp_path / "not.zip").write_text("hello")
    write_zip(tmp_path / "empty.zip", {})
    german = tmp_path / "bewertung.csv"
    german.write_text("\ufeff\"Kennung\",\"Vollständiger Name\",\"Bewertung\"\n\"Teilnehmer/in 4301\",\"Ada Lovelace\",\"\"\n")
    for args, message in [((str(tmp_path / "not.zip"), "--lms", "moodle"), "not.zip is not a zip archive"),
                          ((str(tmp_path / "empty.zip"), "--lms", "canvas"), "empty.zip is an empty archive"),
                          ((str(tmp_path / "m.zip"), "--lms", "moodle", "--times", str(german)),
                           "bewertung.csv: no column 'Identifier': not a Moodle grading worksheet with English headers")]:
        done = gradekit("collect", "tiny", *args, cwd=week, check=False)
        assert done.returncode == 2 and message in done.stderr and "nothing written" in done.stderr, done.stderr
    (week / "marks").mkdir()
    (week / "marks" / "tiny_manual.csv").write_text("student,item,points,comment\ns001,tiny-explain,1,\nnobody,tiny-explain,1,\n")
    done = gradekit("marks", "tiny", cwd=week, check=False)
    assert done.returncode == 2 and "tiny_manual.csv line 3 (nobody, tiny-explain): no student 'nobody'" in done.stderr
    assert not (week / "marks" / "tiny.csv").exists()
    assert {p: p.read_bytes() for p in (week / "submitted").rglob("*") if p.is_file()} == before


def test_a_hostile_archive_is_refused_entry_by_entry(week, tmp_path):
    import zipfile
    archive = tmp_path / "h.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("/etc/s001.ipynb", notebook())
        link = zipfile.ZipInfo("s001/link.ipynb")
        link.external_attr = (0o120777 << 16)
        z.writestr(link, "/etc/passwd")
        z.writestr("s001/tiny.ipynb", notebook())
    out = gradekit("collect", "tiny", str(archive), "--lms", "folder", cwd=week).stdout
    assert "refused: 's001/link.ipynb': a symbolic link" in out and "'/etc/s001.ipynb': its path leaves" in out
    assert tree(week / "submitted") == ["s001/tiny.source.json", "s001/tiny/tiny.ipynb"]


MELBOURNE = timezone(timedelta(hours=11))
DUE = datetime(2026, 3, 2, 23, 59, tzinfo=MELBOURNE)


@pytest.mark.parametrize("late, declared, expected_percent, zero, words", [
    (timedelta(minutes=-5), {}, 0, False, ""),
    (timedelta(minutes=10), {}, 0, False, "within the 15 min grace: no penalty"),
    (timedelta(minutes=16), {}, 10, False, "1 started day × 10 % = 10 % of the maximum"),
    (timedelta(days=2, minutes=1), {}, 30, False, "3 started days"),
    (timedelta(days=8), {}, 100, True, "past the limit of 7 d: mark 0"),
    (timedelta(hours=2, minutes=30), {"percent_per_hour": 2}, 6, False, "3 started hours × 2 %"),
    (timedelta(minutes=20), {"policy": "none"}, 100, True, "accepts nothing late: mark 0"),
])
def test_late_policy(late, declared, expected_percent, zero, words):
    table = {"grace_minutes": 15, "max_late_days": 7, **({"percent_per_day": 10} if "percent_per_hour" not in declared else {}), **declared}
    policy = LatePolicy.declared({"due": DUE.isoformat(), "late": table}, "test")
    found = assess(policy, DUE + late)
    assert (found.percent, found.zero) == (expected_percent, zero) and words in found.explanation
    assert found.penalty(40, 50, "max") == (40 if zero else expected_percent / 100 * 50)


def test_extensions_and_unknown_times():
    policy = LatePolicy.declared({"due": DUE.isoformat(), "late": {"percent_per_day": 10}}, "test")
    extended = Extension(DUE + timedelta(days=2), "medical certificate")
    assert assess(policy, DUE + timedelta(days=1), extension=extended).percent == 0
    found = assess(policy, DUE + timedelta(days=2, hours=1), extension=extended)
    assert found.percent == 10 and "extended from 2026-03-02 23:59 +1100: medical certificate" in found.explanation
    assert assess(policy, None).explanation == "no submission time known: treated as on time"
    assert assess(policy, None, flagged_late=True, extension=extended).percent == 0
    assert assess(LatePolicy(), DUE + timedelta(days=30)).explanation == ""   # no due date: nothing is late


@pytest.mark.slow   # 28 s: four notebooks run and graded
def test_a_week_end_to_end(tmp_path):
    """collect (Moodle, then the student who needed a choice from a folder) -> run -> grade -> manual
    pages and CSV -> marks with a late penalty and an extension -> both upload files -> report."""
    course, data = week_course(tmp_path / "course"), tmp_path / "data"
    gradekit("data", "fetch", "tally", "--data-root", str(data), cwd=course)   # the tiny course's own recipe
    (course / "extensions").mkdir()
    (course / "extensions" / "tiny.csv").write_bytes((WEEK / "extensions.csv").read_bytes())
    gradekit("collect", "tiny", str(moodle_zip(tmp_path / "moodle.zip")), "--lms", "moodle",
             "--times", str(WEEK / "moodle_worksheet.csv"), cwd=course)
    (tmp_path / "chosen" / "s002").mkdir(parents=True)
    (tmp_path / "chosen" / "s002" / "final.ipynb").write_bytes(notebook())   # the TA's choice of Émile's two
    gradekit("collect", "tiny", str(tmp_path / "chosen"), "--lms", "folder", cwd=course)
    gradekit("run", "tiny", "--jobs", "2", "--data-root", str(data), cwd=course)
    gradekit("grade", "tiny", "--jobs", "2", "--data-root", str(data), cwd=course)

    out = gradekit("manual", "tiny", cwd=course).stdout
    assert "1 pages" in out and "4 rows added" in out
    page = (course / "marks" / "manual" / "tiny" / "tiny-explain.html").read_text()
    assert "It scales." in page and "$2(x+y) = 2x + 2y$" in page and "MathJax" in page
    manual_csv = course / "marks" / "tiny_manual.csv"
    rows = list(csv.DictReader(manual_csv.open()))
    given = {"s001": ("1", "clear and complete"), "s003": ("0.5", "only half the argument"), "s004": ("1", "")}
    for row in rows:
        row["points"], row["comment"] = given.get(row["student"], ("", ""))   # s002 not marked yet
    with manual_csv.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["student", "item", "points", "comment"])
        writer.writeheader()
        writer.writerows(rows)
    assert gradekit("manual", "tiny", cwd=course).stdout.count("0 rows added") == 1, "marks already given are kept"

    out = gradekit("marks", "tiny", "--export", "moodle", "--worksheet", str(WEEK / "moodle_worksheet.csv"), cwd=course).stdout
    assert "in the LMS file without a final mark here (left as they were): Participant 4302 (s002), Participant 4305" in out
    gradekit("marks", "tiny", "--export", "canvas", "--gradebook", str(WEEK / "canvas_gradebook.csv"), cwd=course)
    sheet = {r["student"]: r for r in csv.DictReader((course / "marks" / "tiny.csv").open())}
    assert [(sheet[s]["auto_total"], sheet[s]["manual_total"], sheet[s]["penalty"], sheet[s]["final"])
            for s in ("s001", "s002", "s003", "s004")] == [
        ("4", "1", "", "5"), ("4", "pending: 1 of 1 items", "", ""), ("4", "0.5", "1", "3.5"), ("2", "1", "", "3")]
    assert "2 started days × 10 % = 20 % of the maximum" in sheet["s003"]["notes"]
    assert "on time by an extension to 2026-03-04 23:59 +1100 (medical certificate)" in sheet["s004"]["notes"]
    assert sheet["s004"]["late_by"] == "" and sheet["s003"]["late_by"] == "1 d 1 h 31 min"
    assert "no submission time known: treated as on time" in sheet["s002"]["notes"]
    page = (course / "feedback" / "s003" / "tiny.html").read_text()
    assert "only half the argument" in page and "Penalty: 1 points" in page and "Final mark: 3.5" in page
    assert "manual pending" in (course / "feedback" / "s002" / "tiny.html").read_text()
    for name in ("tiny_moodle.csv", "tiny_canvas.csv"):
        assert (course / "marks" / name).read_bytes() == (WEEK / "golden" / name).read_bytes(), name
    # the feedback zip, in the folders Moodle's "Upload multiple feedback files in a zip" files by participant
    with zipfile.ZipFile(course / "marks" / "tiny_moodle_feedback.zip") as z:
        assert z.namelist() == ["Ada Lovelace_4301_assignfeedback_file/tiny_feedback.html",
                                "Alan Turing_4304_assignfeedback_file/tiny_feedback.html",
                                "Grace OHara_4303_assignfeedback_file/tiny_feedback.html"]   # s002: no final mark yet
        for entry, student in zip(z.namelist(), ("s001", "s004", "s003")):
            assert z.read(entry) == (course / "feedback" / student / "tiny.html").read_bytes(), entry

    gradekit("report", "tiny", cwd=course)
    report = (course / "marks" / "tiny_report.html").read_text()
    assert "double(x) is not 2x" in report and "tiny-explain" in report and "<svg" in report
    assert "data:image/png;base64," in report


@pytest.mark.slow   # 20 s: four notebooks run and graded
def test_canvas_feedback_arrives_as_submission_comments(tmp_path):
    """Canvas's "Re-upload submissions": each file under the name the download gave it (user id, then the
    attachment id), in the attachment's own format: the notebook as run, its first cell the feedback."""
    course, data = week_course(tmp_path / "course"), tmp_path / "data"
    gradekit("data", "fetch", "tally", "--data-root", str(data), cwd=course)
    gradekit("collect", "tiny", str(canvas_zip(tmp_path / "canvas.zip")), "--lms", "canvas", cwd=course)
    gradekit("run", "tiny", "--jobs", "2", "--data-root", str(data), cwd=course)
    gradekit("grade", "tiny", "--jobs", "2", "--data-root", str(data), cwd=course)
    gradekit("manual", "tiny", cwd=course)
    manual_csv = course / "marks" / "tiny_manual.csv"
    rows = [{**row, "points": "1", "comment": "fine"} for row in csv.DictReader(manual_csv.open())]
    with manual_csv.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["student", "item", "points", "comment"])
        writer.writeheader()
        writer.writerows(rows)
    out = gradekit("marks", "tiny", "--export", "canvas", "--gradebook", str(WEEK / "canvas_gradebook.csv"), cwd=course).stdout
    assert "no feedback file for anon_x7Kq2: an anonymous Canvas submission" in out
    with zipfile.ZipFile(course / "marks" / "tiny_canvas_feedback.zip") as z:
        assert z.namelist() == ["lovelaceada_101_9001_s001_A1_solution.zip", "oharagrace_103_9004_tiny-1.ipynb",
                                "turingalan_LATE_104_9002_tiny.ipynb"]
        alan = json.loads(z.read("turingalan_LATE_104_9002_tiny.ipynb"))
        inner = zipfile.ZipFile(io.BytesIO(z.read("lovelaceada_101_9001_s001_A1_solution.zip")))
        assert inner.namelist() == ["tiny.ipynb", "tiny_feedback.html"]
        assert inner.read("tiny_feedback.html") == (course / "feedback" / "s001" / "tiny.html").read_bytes()
    import nbformat
    nbformat.validate(nbformat.from_dict(alan))
    first = alan["cells"][0]
    assert first["id"] == "gradekit-feedback"
    assert first["source"] == (WEEK / "golden" / "tiny_canvas_feedback_s004.md").read_text()
    assert alan["cells"][1]["cell_type"] == "code" and "papermill" in alan["metadata"]   # the notebook as run


def test_archive_limits_and_undecodable_names(tmp_path):
    import zipfile

    from gradekit.lms.archive import ArchiveRefused, read_zip
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("s001/tiny.ipynb", b"x" * 1000)
        z.writestr("s002/tiny.ipynb", b"y" * 1000)
        bad = zipfile.ZipInfo("s003/caf\u00e9.ipynb")
        z.writestr(bad, b"{}")
    raw = archive.read_bytes().replace("caf\u00e9".encode("utf-8"), b"caf\xe9\xff")   # a Latin-1 name, flag cleared
    raw = raw.replace(b"\x00\x08", b"\x00\x00")
    archive.write_bytes(raw)
    entries, refused = read_zip(archive, "a.zip")
    assert [e.name for e in entries] == ["s001/tiny.ipynb", "s002/tiny.ipynb"]
    assert len(refused) == 1 and "not valid UTF-8 (undecodable)" in str(refused[0])
    with pytest.raises(ArchiveRefused, match="holds 3 files, more than the limit of 2"):
        read_zip(archive, "a.zip", max_files=2)
    with pytest.raises(ArchiveRefused, match="unpacks to 0 MB, more than the limit of 0 MB"):
        read_zip(archive, "a.zip", max_bytes=1500)


def test_report_groups_failure_reasons_that_differ_only_in_numbers():
    from gradekit.week.report import _reason
    a = _reason("test accuracy 0.81 is below the 85 % bar (the run: error: cell 4 raised RuntimeError: oops)")
    b = _reason("test accuracy 0.62 is below the 85 % bar")
    assert a[0] == b[0] and a[1] == "test accuracy 0.81 is below the 85 % bar"
    assert _reason("double() raised NameError")[0] != a[0]
