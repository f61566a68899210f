"""Untrusted notebooks: each known attack and each way of breaking gets its expected status, reason and
marks; no other student's results change; a batch killed with SIGKILL and re-run gives the same marks."""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, TINY, gradekit, tiny_course

EXPECTED = {k: v for k, v in json.loads((TINY / "expected.json").read_text()).items() if not k.startswith("_")}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    course, data = tiny_course(tmp_path_factory.mktemp("hostile") / "course")
    # a bystander's finished results and a mark sheet, which the vandal will try to overwrite
    (course / "marks").mkdir()
    (course / "marks" / "tiny.csv").write_text("untouched")
    gradekit("run", "tiny", "--jobs", "2", "--data-root", str(data), cwd=course)
    gradekit("grade", "tiny", "--jobs", "2", "--data-root", str(data), cwd=course)
    snapshot = (course / "marks" / "tiny.csv").read_text()
    gradekit("marks", "tiny", cwd=course)
    return course, data, snapshot


def outcome(course: Path, student: str) -> tuple[dict, dict]:
    folder = course / "autograded" / student / "tiny"
    return json.loads((folder / "run.json").read_text()), json.loads((folder / "grade.json").read_text())


@pytest.mark.slow  # the whole hostile batch: minutes
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_hostile_submission_gets_its_status_reason_and_marks(hostile, student):
    course = hostile[0]
    want = EXPECTED[student]
    run, grade = outcome(course, student)
    assert run["status"] == want["status"], run["reason"]
    assert want.get("reason", "") in run["reason"], run["reason"]
    assert run["sandboxed"] is True
    points = {i["id"]: i for i in grade["items"]}
    assert points["tiny.answer"]["points"] == want["answer"], points["tiny.answer"]["reason"]
    assert points["tiny.double"]["points"] == want["double"], points["tiny.double"]["reason"]
    assert want.get("double_reason", "") in points["tiny.double"]["reason"]
    assert all(i["reason"] for i in grade["items"])
    if "warning" in want:
        assert any(want["warning"] in w for w in run["warnings"])
    if "printed" in want:
        assert want["printed"] in (course / "autograded" / student / "tiny" / "tiny.ipynb").read_text()


@pytest.mark.slow  # the whole hostile batch: minutes
def test_hidden_tracebacks_are_still_reported(hostile):
    run, _ = outcome(hostile[0], "h13_hides_tracebacks")
    assert run["errors"][0]["last_lines"].startswith("(no traceback was shown")


@pytest.mark.slow  # the whole hostile batch: minutes
def test_no_write_escapes_the_sandbox(hostile):
    course = hostile[0]
    assert not list(course.parent.rglob("pwned.txt"))
    assert hostile[2] == "untouched"  # the mark sheet as it was before grading
    _, grade = outcome(course, "h09_writes_elsewhere")
    assert grade["total"] == 2  # its forged grade.json of 4/4 stayed inside the sandbox


@pytest.mark.slow  # the whole hostile batch: minutes
def test_runner_parameters_win_over_the_students(hostile):
    course = hostile[0]
    answers = json.loads((course / "autograded" / "h11_edits_data_root" / "tiny" / "artifacts" / "answers.json").read_text())
    assert answers == {"tiny.answer": 42}


@pytest.mark.slow  # the whole hostile batch: minutes
def test_huge_output_is_cut(hostile):
    folder = hostile[0] / "autograded" / "h07_huge_output" / "tiny"
    assert (folder / "tiny.ipynb").stat().st_size < 4 << 20


@pytest.mark.slow  # the whole hostile batch: minutes
def test_mark_sheet_gives_every_failure_a_reason(hostile):
    rows = {r["student"]: r for r in csv.DictReader((hostile[0] / "marks" / "tiny.csv").open())}
    for student, want in EXPECTED.items():
        if want["status"] != "ok":
            assert rows[student]["notes"].startswith(f"run {want['status']}:"), rows[student]
    assert rows["h00_honest"]["auto_total"] == "4" and rows["h00_honest"]["notes"] == "course file rebuilt (tally)"


@pytest.mark.slow  # the whole hostile batch: minutes
def test_nothing_survives_the_batch(hostile):
    course = str(hostile[0])
    left = subprocess.run(["pgrep", "-af", course], capture_output=True, text=True).stdout.strip()
    assert left == "", left


KILL_SET = ["h00_honest", "h01_raises", "h05_memory_blowup", "h08_reads_graders", "h09_writes_elsewhere",
            "h11_edits_data_root", "h12_fake_submit_helper", "h15_no_parameters_cell"]


def _marks(course: Path, data: Path) -> list[list[str]]:
    gradekit("grade", "tiny", "--jobs", "2", "--data-root", str(data), cwd=course)
    gradekit("marks", "tiny", cwd=course)
    return list(csv.reader((course / "marks" / "tiny.csv").open()))


@pytest.mark.slow  # the whole hostile batch: minutes
def test_sigkill_mid_batch_then_rerun_gives_the_same_mark_sheet(tmp_path):
    course, data = tiny_course(tmp_path / "whole", KILL_SET)
    gradekit("run", "tiny", "--jobs", "2", "--data-root", str(data), cwd=course)
    uninterrupted = _marks(course, data)

    course, data = tiny_course(tmp_path / "killed", KILL_SET)
    batch = subprocess.Popen([sys.executable, "-m", "gradekit.cli", "run", "tiny", "--jobs", "2", "--data-root", str(data)],
                             cwd=course, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while len(list(course.glob("autograded/*/tiny/run.json"))) < 3 and time.time() < deadline:
        time.sleep(0.2)
    os.killpg(batch.pid, signal.SIGKILL)
    batch.wait()
    finished = {p.parent.parent.name: p.read_text() for p in course.glob("autograded/*/tiny/run.json")}
    assert 3 <= len(finished) < len(KILL_SET), "the kill came too late to test anything"
    time.sleep(2)
    assert subprocess.run(["pgrep", "-af", str(course)], capture_output=True, text=True).stdout == "", "orphans"
    gradekit("run", "tiny", "--jobs", "2", "--data-root", str(data), cwd=course)
    for student, text in finished.items():  # finished work was kept, not redone
        assert (course / "autograded" / student / "tiny" / "run.json").read_text() == text
    assert _marks(course, data) == uninterrupted


@pytest.mark.slow  # two runs and a grading: seconds the fast lane does not have
def test_without_bubblewrap_every_report_says_not_sandboxed(tmp_path, monkeypatch):
    course, data = tiny_course(tmp_path / "plain", ["h00_honest"])
    monkeypatch.setenv("GRADEKIT_NO_BWRAP", "1")
    refused = gradekit("run", "tiny", "--data-root", str(data), cwd=course, check=False)
    assert refused.returncode == 2 and "bubblewrap" in refused.stderr and "--unsandboxed" in refused.stderr
    assert not (course / "autograded").exists(), "a refused batch ran nobody"
    gradekit("run", "tiny", "--unsandboxed", "--data-root", str(data), cwd=course)
    gradekit("grade", "tiny", "--unsandboxed", "--data-root", str(data), cwd=course)
    gradekit("marks", "tiny", cwd=course)
    run, grade = outcome(course, "h00_honest")
    assert run["sandboxed"] is False and "NOT SANDBOXED" in run["warnings"][0]
    row = next(r for r in csv.DictReader((course / "marks" / "tiny.csv").open()) if r["student"] == "h00_honest")
    assert "NOT SANDBOXED" in row["notes"]
    assert "NOT SANDBOXED" in (course / "feedback" / "h00_honest" / "tiny.html").read_text()


@pytest.mark.slow   # 4 s
def test_a_sandbox_that_cannot_start_is_not_the_students_fault(tmp_path):
    """The preflight refuses a missing data root before the batch; past it (a machine that changes under
    a running batch), a sandbox that cannot bind its folders is still not the student's fault."""
    from gradekit.course import Course
    from gradekit.run import execute
    from gradekit.batch.settings import Settings
    from gradekit.run.stage import make_job

    course, data = tiny_course(tmp_path / "refused", ["h00_honest"])
    refused = gradekit("run", "tiny", "--data-root", str(tmp_path / "no-such-data-root"), cwd=course, check=False)
    assert refused.returncode == 2 and "does not exist" in refused.stderr and "gradekit data fetch tally" in refused.stderr
    assignment = Course(course).assignment("tiny")
    job = make_job(assignment, "h00_honest", course / "submitted" / "h00_honest" / "tiny",
                   course / "autograded" / "h00_honest" / "tiny", Settings(tmp_path / "no-such-data-root"))
    record = execute.run(job)
    assert record.status == "sandbox refused" and "could not start" in record.reason, record.reason
