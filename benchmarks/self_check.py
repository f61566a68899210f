"""The students' self-check on real runs: `submit.check()` in a Jupyter kernel started in a copy of the
release, with the notebook's definitions (what the graders' call worker would bring) and the run's own
artifacts, as a student who has just run their notebook would call it.

    python benchmarks/self_check.py [RUN_DIR ...]     default: solutions/<A> for each assignment solved

RUN_DIR is a run folder (solutions/<A>, or autograded/<student>/<A> of a batch): its executed notebook and
artifacts/. Prints, per run, how many items are ready, each item that is not with why, and the seconds the
check took inside the kernel (model loading included). The release must be current (`gradekit release A`).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from gradekit.course import Course  # noqa: E402
from gradekit.grading.definitions import collect  # noqa: E402


def assignment_of(run_dir: Path, course: Course) -> str:
    names = {p.name for p in course.source.iterdir() if p.is_dir()}
    for part in (run_dir.name, run_dir.parent.name):
        if part in names:
            return part
    raise SystemExit(f"{run_dir}: not a run folder of an assignment of this course")


def check_run(run_dir: Path, course: Course) -> dict:
    name = assignment_of(run_dir, course)
    notebook = run_dir / f"{name}.ipynb"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "student"
        shutil.copytree(course.release / name, folder)
        if (run_dir / "artifacts").is_dir():
            shutil.copytree(run_dir / "artifacts", folder / "outputs")
        cells = [collect(notebook).source if notebook.is_file() else "# no executed notebook: nothing defined",
                 "import json, time\nfrom gradekit_submit import Submission\nsubmit = Submission('outputs')\n"
                 "started = time.time()\nreport = submit.check()\n"
                 "print('RESULT', json.dumps({'report': dict(report), 'seconds': time.time() - started}))"]
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        started = time.time()
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
        text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
        result = json.loads(text.split("RESULT ", 1)[1])
        result["kernel_seconds"] = time.time() - started
    return {"run": str(run_dir.relative_to(REPO) if run_dir.is_relative_to(REPO) else run_dir), **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path)
    args = parser.parse_args()
    course = Course(REPO)
    runs = [r.resolve() for r in args.runs] or sorted(p for p in (REPO / "solutions").iterdir() if (p / "artifacts").is_dir())
    print(f"{'run':<55} {'ready':>9} {'check s':>8} {'kernel s':>9}")
    for run_dir in runs:
        result = check_run(run_dir, course)
        report = result["report"]
        ready = sum(v == "ready" for v in report.values())
        print(f"{result['run']:<55} {ready:>4} / {len(report):<3} {result['seconds']:>8.1f} {result['kernel_seconds']:>9.1f}")
        for item, status in report.items():
            if status != "ready":
                print(f"    {item}: {status}")


if __name__ == "__main__":
    main()
