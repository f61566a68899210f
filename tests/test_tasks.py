"""A failure costs only its own task: a cell past its time limit is interrupted, a kernel that aborts is
restarted with the setup replayed, an over-limit file is refused where the student writes it; the tasks
after each keep their marks, and every reason names its own cause."""
from __future__ import annotations

import csv
import json

import pytest

from conftest import gradekit
from task_course import task_course


def _run_and_grade(tmp_path, students):
    course, data = task_course(tmp_path / "course", students)
    jobs = str(min(2, len(students)))
    gradekit("run", "tiny", "--jobs", jobs, "--data-root", str(data), cwd=course)
    gradekit("grade", "tiny", "--jobs", jobs, "--data-root", str(data), cwd=course)
    gradekit("marks", "tiny", cwd=course)
    sheet = {r["student"]: r for r in csv.DictReader((course / "marks" / "tiny.csv").open())}
    runs = {s: json.loads((course / "autograded" / s / "tiny" / "run.json").read_text()) for s in students}
    return course, sheet, runs


def test_three_failures_cost_only_their_own_tasks(tmp_path):
    course, sheet, runs = _run_and_grade(tmp_path, ["t5_all_three"])
    row, run = sheet["t5_all_three"], runs["t5_all_three"]
    assert (row["tiny.double"], row["tiny.answer"], row["auto_total"]) == ("2", "2", "4"), row["notes"]
    tasks = {t["name"]: t for t in run["tasks"]}
    assert [tasks[n]["status"] for n in ("Warm-up 1", "Warm-up 2", "Warm-up 3", "Double", "Answer")] == [
        "timeout", "kernel died", "error", "ok", "ok"]
    assert tasks["Warm-up 1"]["reason"] == 'code cell 3 (under "Warm-up 1") ran past the 4 s limit per cell'
    assert "SIGABRT" in tasks["Warm-up 2"]["reason"] and "exit status 134" in tasks["Warm-up 2"]["reason"]
    assert "about to abort" in tasks["Warm-up 2"]["reason"], "the kernel's last stderr lines are quoted"
    assert "warmup_big is 7.2 MB; the grader accepts files up to 2 MB (`output_mb`)" in tasks["Warm-up 3"]["reason"]
    assert tasks["Warm-up 3"]["restart_s"] is not None and tasks["Warm-up 3"]["restart_s"] < 60
    artifacts = {p.name for p in (course / "autograded" / "t5_all_three" / "tiny" / "artifacts").iterdir()}
    assert artifacts == {"answers.json"}, "no half-written file of the refused export"
    assert run["status"] == "timeout" and "(and 1 more task stopped)" in run["reason"]
    page = (course / "feedback" / "t5_all_three" / "tiny.html").read_text()
    assert "Cells that raised, timed out or stopped" in page and "CellTimeoutError" in page and "DeadKernelError" in page
    assert page.count("code cell") >= 3


@pytest.mark.slow   # 1 min: each failure alone, and a kernel that ignores the interrupt (a 15 s grace, then a restart)
def test_each_failure_alone_and_a_kernel_deaf_to_interrupts(tmp_path):
    students = ["t0_honest", "t1_sleeps", "t2_aborts", "t3_over_cap", "t4_ignores_interrupt"]
    _, sheet, runs = _run_and_grade(tmp_path, students)
    assert {s: sheet[s]["auto_total"] for s in students} == {s: "4" for s in students}
    assert [runs[s]["status"] for s in students] == ["ok", "timeout", "kernel died", "error", "timeout"]
    deaf = {t["name"]: t for t in runs["t4_ignores_interrupt"]["tasks"]}
    assert deaf["Warm-up 2"]["restart_s"] is not None, "the kernel that would not stop was restarted"
