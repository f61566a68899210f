"""Running an assignment's example submissions through release -> run -> grade -> marks, and checking
each one's marks item by item against the fixtures' expected_marks.json."""
from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

import pytest

from conftest import REPO, gradekit, make_course

# alice_correct is the solution itself, which test_solve_* proves; the batches leave her out to save CI time
SOLVED_ELSEWHERE = {"alice_correct"}


def expected_marks(assignment: str, alone: bool = False) -> dict[str, dict]:
    """The fixtures' expected marks: those of the batch, or (`alone`) those a test of their own runs."""
    path = REPO / "tests" / "fixtures" / assignment / "expected_marks.json"
    return {k: v for k, v in json.loads(path.read_text()).items()
            if not k.startswith("_") and k not in SOLVED_ELSEWHERE and bool(v.get("alone")) == alone}


def run_batch(tmp_path_factory, data_root: Path, assignment: str) -> dict:
    course = make_course(tmp_path_factory.mktemp(assignment) / "course")
    gradekit("release", assignment, cwd=course)
    for student in expected_marks(assignment):
        src = REPO / "tests" / "fixtures" / assignment / student
        if src.is_dir():
            shutil.copytree(src, course / "submitted" / student)
    # a student who hands the release back untouched
    shutil.copytree(course / "release" / assignment, course / "submitted" / "zara_untouched_release" / assignment)
    common = ["--profile", "smoke", "--data-root", str(data_root)]
    started = time.time()
    run = gradekit("run", assignment, "--jobs", "2", *common, cwd=course)
    run_seconds = time.time() - started
    gradekit("grade", assignment, "--jobs", "2", *common, cwd=course)
    gradekit("marks", assignment, cwd=course)
    return {"course": course, "assignment": assignment, "run_output": run.stdout + run.stderr,
            "run_seconds": run_seconds, "common": common}


def batch_fixture(assignment: str):
    """The session fixture `batch` of an assignment's test module: its example submissions run once."""
    @pytest.fixture(scope="session")
    def batch(tmp_path_factory, data_root):
        return run_batch(tmp_path_factory, data_root, assignment)

    return batch


def outcome(batch: dict, student: str) -> tuple[dict, dict]:
    folder = batch["course"] / "autograded" / student / batch["assignment"]
    return json.loads((folder / "run.json").read_text()), json.loads((folder / "grade.json").read_text())


def check_marks(batch: dict, student: str, expected: dict, auto_max: float, n_items: int) -> None:
    """Status, reason, and every item's points: full unless the fixture's defect says otherwise."""
    run, grade = outcome(batch, student)
    assert run["status"] == expected["status"], run["reason"]
    assert expected.get("reason_contains", "") in run["reason"], run["reason"]
    assert "warning_contains" not in expected or any(expected["warning_contains"] in w for w in run["warnings"])
    items = {i["id"]: i for i in grade["items"]}
    assert grade["max"] == auto_max and len(items) == n_items, (grade["max"], sorted(items))
    for item_id, item in items.items():
        if expected.get("all_zero") or ("only" in expected and item_id not in expected["only"]):
            want = 0
        else:
            want = expected.get("items", {}).get(item_id, item["max"])
        assert item["points"] == want, f"{student} {item_id}: {item['points']} != {want} ({item['reason']})"
        assert item["reason"], f"{student} {item_id} has no reason"
    assert grade["total"] == expected["total"]


def solve(assignment: str, data_root: Path, tmp_path: Path) -> tuple[dict, Path]:
    course = make_course(tmp_path / "course")
    done = gradekit("solve", assignment, "--profile", "smoke", "--data-root", str(data_root), cwd=course, check=False)
    return json.loads(done.stdout), course


def mark_sheet(batch: dict) -> dict[str, dict]:
    """The batch's mark sheet, one row per student; "(max)" holds the maxima."""
    return {r["student"]: r for r in csv.DictReader((batch["course"] / "marks" / f"{batch['assignment']}.csv").open())}


def check_spec_points(rows: dict[str, dict], auto_max: float, manual: dict[str, float]) -> None:
    """The sheet's maxima are the spec's: the auto items, each manual cell's points, 100 in all."""
    top = rows["(max)"]
    assert top["max_total"] == "100" and top["auto_max"] == f"{auto_max:g}" and top["manual_max"] == f"{sum(manual.values()):g}"
    assert {c.removesuffix(" (manual)"): float(top[c]) for c in top if c.endswith("(manual)")} == manual


def grade_with_one_grader_file(assignment: str, grader_file: str, definitions: str, tmp_path: Path, data_root: Path,
                               select: str) -> dict[str, dict]:
    """The items of one of the assignment's own grader files (`-k select`), graded on an executed notebook
    that holds only `definitions`: for items that call student functions, without a whole run."""
    import subprocess
    import sys

    import nbformat

    run_dir = tmp_path / "autograded" / "s" / assignment
    run_dir.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(definitions, execution_count=1)]
    nbformat.write(nb, run_dir / f"{assignment}.ipynb")
    (run_dir / "run.json").write_text(json.dumps({"status": "ok", "profile": "smoke"}))
    grader = REPO / "grader_tests" / assignment
    done = subprocess.run([sys.executable, "-m", "pytest", str(grader / grader_file), "-p", "gradekit.grading.plugin",
                           "-p", "no:cacheprovider", "-q", "-k", select, f"--rootdir={grader}", f"--gk-run-dir={run_dir}",
                           f"--gk-report={run_dir / 'grade.json'}", f"--gk-data-root={data_root}", f"--gk-course={REPO}",
                           f"--gk-assignment={assignment}"], capture_output=True, text=True, cwd=grader)
    report = run_dir / "grade.json"
    assert report.exists(), done.stdout[-2000:] + done.stderr[-2000:]
    return {i["id"]: i for i in json.loads(report.read_text())["items"]}
