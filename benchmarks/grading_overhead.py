"""Grading overhead per submission on a trivial notebook, in one run:

  plain papermill        execute only, no sandbox, no grading
  nbgrader autograde     nbgrader's own pipeline (execute + its test cells + gradebook)
  gradekit run           papermill with the kernel in bubblewrap, run.json, atomic publish
  gradekit run, no bwrap the same without bubblewrap (GRADEKIT_NO_BWRAP=1): the sandbox's own cost
  gradekit run + grade   the above plus one pytest process with one item

    python benchmarks/grading_overhead.py [--n 5] [--torch]

--torch: the notebook and its grader import torch (as every deep-learning assignment's do), and the assignment
declares `preload = ["torch"]`: what a warm kernel and a warm grading worker save there.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from gradekit.platform import sandbox
from gradekit.course import Course
from gradekit.course.limits import Limits
from gradekit.run.execute import Job, run as gradekit_run
from gradekit.grading.stage import Grading, grade_one

PARAMS = 'DATA_ROOT = "."\nOUTPUT_DIR = "out"\nDEVICE = "cpu"\nPROFILE = "smoke"\nSEED = 0'
WORK = "from gradekit_submit import Submission\nx = sum(range(10))\nSubmission(OUTPUT_DIR).answer('x', x)"
TORCH_WORK = "import torch\n" + WORK.replace("sum(range(10))", "int(torch.arange(10).sum())")
GRADER = '''import pytest
@pytest.mark.item("x", points=1)
def test_x(submission):
    assert submission.number("x") == 45, "wrong"
'''
TORCH_GRADER = "import torch\n" + GRADER.replace("== 45", "== int(torch.tensor(45))")


def trivial_notebook(nbgrader_cells: bool, work: str = WORK) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(work)]
    if nbgrader_cells:
        test = nbformat.v4.new_code_cell("assert x == 45")
        test.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 1,
                                     "grade_id": "test_x", "schema_version": 3}
        nb.cells.append(test)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def timed(fn, n: int) -> list[float]:
    times = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5, help="submissions per method")
    parser.add_argument("--torch", action="store_true", help="a notebook and a grader that import torch")
    options = parser.parse_args()
    n, work = options.n, TORCH_WORK if options.torch else WORK
    root = Path(tempfile.mkdtemp(prefix="gk-bench-"))
    provided = Path(__file__).resolve().parents[1] / "gradekit" / "provided" / "gradekit_submit.py"
    try:
        # a one-assignment course for gradekit and nbgrader alike
        (root / "source" / "triv").mkdir(parents=True)
        nbformat.write(trivial_notebook(True, work), root / "source" / "triv" / "triv.ipynb")
        if options.torch:
            (root / "source" / "triv" / "assignment.toml").write_text('preload = ["torch"]\n')
        (root / "grader_tests" / "triv").mkdir(parents=True)
        (root / "grader_tests" / "triv" / "test_x.py").write_text(TORCH_GRADER if options.torch else GRADER)
        (root / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.root = %r\n" % str(root))
        plain = root / "plain"
        plain.mkdir()
        nbformat.write(trivial_notebook(False, work), plain / "triv.ipynb")
        shutil.copyfile(provided, plain / "gradekit_submit.py")
        for i in range(n):
            sub = root / "submitted" / f"s{i}" / "triv"
            sub.mkdir(parents=True)
            nbformat.write(trivial_notebook(True, work), sub / "triv.ipynb")
            shutil.copyfile(provided, sub / "gradekit_submit.py")

        import papermill

        results = {}
        results["plain papermill"] = timed(lambda i: papermill.execute_notebook(
            str(plain / "triv.ipynb"), str(plain / f"out{i}.ipynb"), parameters={"OUTPUT_DIR": str(plain / f"o{i}")},
            cwd=str(plain), progress_bar=False), n)

        # nbgrader's own set-up, as a course does it: the assignment into the gradebook, then the students
        nbgrader = [sys.executable, "-m", "nbgrader"]
        # nbgrader's gradebook migrations run `alembic` from PATH: the environment's own bin first
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        subprocess.run([*nbgrader, "generate_assignment", "triv"], cwd=root, capture_output=True, check=True, env=env)
        for i in range(n):
            subprocess.run([*nbgrader, "db", "student", "add", f"s{i}"], cwd=root, capture_output=True, check=True,
                           env=env)
        results["nbgrader autograde"] = timed(lambda i: subprocess.run(
            [*nbgrader, "autograde", "triv", "--student", f"s{i}", "--force"], cwd=root, capture_output=True,
            check=True, env=env), n)
        graded = json.loads(subprocess.run([sys.executable, "-c", (
            "from nbgrader.api import Gradebook\n"
            f"gb = Gradebook('sqlite:///{root}/gradebook.db')\n"
            f"print([gb.find_submission('triv', 's{i}').score for i in range({n})])")],
            capture_output=True, text=True, check=True).stdout.replace("'", '"'))

        assignment = Course(root).assignment("triv")
        data = root / "data"   # the notebook reads no data; a folder of its own, as a course's data root is
        data.mkdir()
        limits = Limits(cell_timeout_s=120, notebook_timeout_s=300)

        def job(i, folder):
            return Job("triv", f"s{i}", root / "submitted" / f"s{i}" / "triv", root / folder / f"s{i}" / "triv",
                       "smoke", data, 0, "cpu", limits, preload=assignment.preload())

        results["gradekit run"] = timed(lambda i: gradekit_run(job(i, "runs")), n)
        os.environ["GRADEKIT_NO_BWRAP"] = "1"
        results["gradekit run, no bwrap"] = timed(lambda i: gradekit_run(job(i, "plain-runs")), n)
        del os.environ["GRADEKIT_NO_BWRAP"]
        grades = []
        results["gradekit run + grade"] = timed(lambda i: (gradekit_run(job(i, "autograded")), grades.append(
            grade_one(assignment, root / "autograded" / f"s{i}" / "triv", Grading(data, "smoke", 0)))), n)
        assert all(g.total == 1 for g in grades) and all(s == 1 for s in graded), (grades, graded)

        print(f"grading overhead per trivial submission{' importing torch' if options.torch else ''}, {n} submissions each, one at a time; "
              f"bubblewrap: {'yes' if sandbox.bwrap_path() else 'NOT INSTALLED'}")
        print(f"{'method':<24}{'mean s':>8}{'min s':>8}{'max s':>8}")
        for name, times in results.items():
            print(f"{name:<24}{statistics.mean(times):>8.2f}{min(times):>8.2f}{max(times):>8.2f}")
    finally:
        if not os.environ.get("KEEP"):
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(root)


if __name__ == "__main__":
    main()
