"""Throughput of `gradekit run` on light submissions, in one run: the local pool (1 and 2 threads) and
Dask clusters of 1 and 2 worker processes on this machine, at the same widths. Prints each figure and
the Dask overhead per task (its time minus the local pool's at the same width, per submission).

    python benchmarks/cluster_throughput.py [--n 12]

Targets (issue 14): Dask at most 10 % slower than the local pool at the same width; 2 workers at least
1.6 times as fast as one. The submissions are the tiny test course's honest notebook (a kernel start, a
numpy load, one function), so the figures are dominated by per-run costs: kernel start, sandbox, publish.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gradekit.course import Course
from gradekit.batch.driver import drive
from gradekit.batch.settings import Settings
from gradekit.run.stage import RunStage
from gradekit.platform.executors import DaskExecutor, LocalPool

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "fixtures" / "tiny_course"


def course(root: Path, n: int) -> tuple[Course, Path]:
    for part in ("source", "grader_tests", "datasets"):
        shutil.copytree(TINY / part, root / part)
    shutil.copyfile(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    for i in range(n):
        shutil.copytree(TINY / "submitted" / "h00_honest", root / "submitted" / f"s{i:02d}")
    data = root.parent / "data"
    subprocess.run([sys.executable, "-m", "gradekit.cli", "data", "fetch", "tally", "--data-root", str(data)],
                   cwd=root, check=True, capture_output=True)
    return Course(root), data


def timed(course: Course, data: Path, executor, students: list[str]) -> float:
    shutil.rmtree(course.autograded, ignore_errors=True)
    started = time.perf_counter()
    stage = RunStage(course.assignment("tiny"), Settings(data), course.assignment("tiny").folders(), executor.width)
    results = drive(stage, students, executor)
    elapsed = time.perf_counter() - started
    assert len(results) == len(students) and all(r.status == "ok" for r in results.values()), results
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        c, data = course(Path(tmp) / "course", args.n)
        students = c.students(c.submitted, "tiny")
        figures = {}
        for label, make in (("local pool, 1 thread", lambda: LocalPool(1)), ("Dask local:1", lambda: DaskExecutor("local:1")),
                            ("local pool, 2 threads", lambda: LocalPool(2)), ("Dask local:2", lambda: DaskExecutor("local:2"))):
            executor = make()   # a cluster's start-up is not counted: a course starts it once per batch
            try:
                if executor.remote:   # the workers' first imports and preflight, once per batch
                    timed(c, data, executor, students[:executor.width])
                figures[label] = timed(c, data, executor, students)
            finally:
                executor.close()
    print(f"\n{args.n} light submissions (tiny course, honest notebook), wall time of `run`:")
    for label, seconds in figures.items():
        print(f"  {label:24s} {seconds:6.1f} s   {args.n / seconds * 60:5.1f} submissions/min")
    for width in (1, 2):
        pool, dask = figures[f"local pool, {width} thread{'s' if width > 1 else ''}"], figures[f"Dask local:{width}"]
        print(f"  width {width}: Dask {100 * (dask / pool - 1):+.1f} % vs the local pool, "
              f"overhead {(dask - pool) / args.n * 1000:+.0f} ms per task")
    print(f"  Dask 2 workers vs 1: {figures['Dask local:1'] / figures['Dask local:2']:.2f}x; "
          f"local pool 2 vs 1: {figures['local pool, 1 thread'] / figures['local pool, 2 threads']:.2f}x")


if __name__ == "__main__":
    main()
