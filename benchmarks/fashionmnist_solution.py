"""Wall time of the EE046211 HW2 FashionMNIST MLP (Task 2) to >= 89 % on the real data, on this machine.

Runs the instructor solution through the kit (smoke profile: real FashionMNIST), then reads from the
executed notebook and the grader what the MLP cell took and what the exported model scores.

    DATA_ROOT=data python benchmarks/fashionmnist_solution.py
"""
from __future__ import annotations

import json
import os
import platform
import re
import time
from pathlib import Path

import nbformat
import torch

from gradekit.authoring.solve import solve
from gradekit.batch.settings import Settings
from gradekit.course import Course, default_data_root

A = "ee046211_hw2"


def main() -> None:
    course = Course(Path(__file__).resolve().parents[1])
    assignment = course.assignment(A)
    started = time.perf_counter()
    result = solve(assignment, Settings(data_root=default_data_root().resolve(), profile="smoke", seed=0, device="cpu"))
    total = time.perf_counter() - started
    out = course.solutions / A
    nb = nbformat.read(out / f"{A}.ipynb", as_version=4)
    grade = {i["id"]: i for i in json.loads((out / "grade.json").read_text())["items"]}
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, CPU only")
    print(f"whole solution notebook (smoke: real FashionMNIST, SVHN stand-in): {result.duration_s:.0f} s run, "
          f"{total:.0f} s with grading; auto points {result.total:g}/{result.max:g}")
    for cell in nb.cells:
        for marker, item in (('submit.model("task2_mlp",', "task2.accuracy"), ('submit.model("task2_mlp_reinit"', "task2.reinit")):
            if marker in cell.source:
                text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
                epochs = len(re.findall(r"^epoch \d+/\d+", text, re.M))
                print(f"{item:<16} cell {cell.metadata['papermill']['duration']:6.1f} s for {epochs} epochs; "
                      f"grader: {grade[item]['reason']}")


if __name__ == "__main__":
    main()
