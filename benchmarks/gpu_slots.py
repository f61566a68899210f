"""Several trainings sharing one GPU: the EE046211 HW2 solution's FashionMNIST part (Parts 1 and 2 up to
Task 3, whose SVHN we do not have here) run as N submissions on a one-worker Dask cluster with 1, 2 and 4
GPU slots. Prints the throughput per slot count, each run's cost line (wall, CPU, peak memory, GPU-held
seconds, peak GPU memory), the accuracy each run reached, and the batch totals.

    python benchmarks/gpu_slots.py --data-root DATA [--n 4] [--slots 1 2 4] [--profile full] [--device cuda]

DATA must hold FashionMNIST (`gradekit data fetch fashionmnist`). Without bubblewrap, or where its sandbox
cannot reach the GPU, pass --unsandboxed (the figures then say so).
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from gradekit.course import Course
from gradekit.week.marks import batch_cost, cost_line
from gradekit.batch.driver import drive
from gradekit.batch.settings import Settings
from gradekit.run.stage import RunStage
from gradekit.platform.executors import DaskExecutor

REPO = Path(__file__).resolve().parents[1]
SOURCE = "ee046211_hw2"
NAME = "hw2_fashionmnist"


def course(root: Path, n: int) -> Course:
    """A course whose assignment is HW2's solution cut before Task 3, handed in n times."""
    shutil.copytree(REPO / "datasets", root / "datasets")
    shutil.copyfile(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    nb = nbformat.read(REPO / "source" / SOURCE / f"{SOURCE}.ipynb", as_version=4)
    cut = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("## Task 3"))
    nb.cells = nb.cells[:cut]
    toml = (REPO / "source" / SOURCE / "assignment.toml").read_text().replace(
        'datasets = ["fashionmnist", "svhn"]', 'datasets = ["fashionmnist"]')
    (root / "source" / NAME).mkdir(parents=True)
    (root / "source" / NAME / "assignment.toml").write_text(toml)
    nbformat.write(nb, root / "source" / NAME / f"{NAME}.ipynb")
    for i in range(n):
        (root / "submitted" / f"s{i}" / NAME).mkdir(parents=True)
        nbformat.write(nb, root / "submitted" / f"s{i}" / NAME / f"{NAME}.ipynb")
    return Course(root)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--slots", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--profile", default="full")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--unsandboxed", action="store_true")
    args = parser.parse_args()
    summary = []
    with tempfile.TemporaryDirectory() as tmp:
        c = course(Path(tmp) / "course", args.n)
        assignment = c.assignment(NAME)
        for slots in args.slots:
            shutil.rmtree(c.autograded, ignore_errors=True)
            executor = DaskExecutor("local:1", gpu_slots=slots)
            try:
                started = time.perf_counter()
                settings = Settings(data_root=args.data_root.resolve(), profile=args.profile, seed=0, device=args.device,
                                    unsandboxed=args.unsandboxed, jobs=slots)
                stage = RunStage(assignment, settings, assignment.folders(), slots)
                results = drive(stage, stage.students(), executor)
                wall = time.perf_counter() - started
            finally:
                executor.close()
            print(f"\n== {slots} slot(s): {args.n} submissions in {wall:.1f} s = {args.n / wall * 3600:.0f} per hour", flush=True)
            for student, record in sorted(results.items()):
                answers = c.autograded / student / NAME / "artifacts" / "answers.json"
                got = json.loads(answers.read_text()) if answers.exists() else {}
                accuracy = {k: round(v, 4) for k, v in got.items() if k.endswith("accuracy")}
                print(f"  {student}: {record.status}, sandboxed={record.sandboxed}, cost {record.cost}, {accuracy}", flush=True)
            print("  " + cost_line(batch_cost(list(results.values()))), flush=True)
            summary.append((slots, wall))
    print("\nslots  wall_s  submissions/hour")
    for slots, wall in summary:
        print(f"{slots:5d}  {wall:6.1f}  {args.n / wall * 3600:8.0f}")


if __name__ == "__main__":
    main()
