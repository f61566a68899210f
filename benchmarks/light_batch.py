"""A batch of light submissions, run and graded through the CLI, with two versions of the kit side by side
in one run (each from a git worktree of its commit, put first on PYTHONPATH):

  light   N copies of the tiny course's honest notebook (numpy only)        `run --jobs J`, `grade --jobs J`
  torch   M copies of it with `import torch` and one tensor operation       the same

    python benchmarks/light_batch.py [--n 100] [--m 10] [--jobs 2] [--kits 73f675c HEAD]

Prints the wall time of each step per kit; checks that every submission earned the same marks.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TORCH_CELL = "import torch\nassert float(torch.ones(3).sum()) == 3.0"


def checkout(rev: str, scratch: Path) -> Path:
    """A worktree of `rev` (the working tree itself for "here")."""
    if rev == "here":
        return REPO
    dest = scratch / f"kit-{rev}"
    subprocess.run(["git", "worktree", "add", "--detach", str(dest), rev], cwd=REPO, check=True, capture_output=True)
    return dest


def course(kit: Path, dest: Path, n: int, torch_cell: bool) -> Path:
    tiny = kit / "tests" / "fixtures" / "tiny_course"
    for part in ("source", "grader_tests", "datasets"):
        shutil.copytree(tiny / part, dest / part)
    shutil.copyfile(kit / "nbgrader_config.py", dest / "nbgrader_config.py")
    if torch_cell:   # torch's libraries map more address space than the tiny course's 2048 MB allow
        toml = dest / "source" / "tiny" / "assignment.toml"
        # and the course declares what its notebooks import (a kit without warm kernels ignores the key)
        toml.write_text('preload = ["torch"]\n' + toml.read_text().replace("memory_mb = 2048", "memory_mb = 8192"))
    honest = tiny / "submitted" / "h00_honest" / "tiny"
    notebook = json.loads((honest / "tiny.ipynb").read_text())
    if torch_cell:
        notebook["cells"].append({"cell_type": "code", "metadata": {}, "source": TORCH_CELL, "outputs": [],
                                  "execution_count": None, "id": "torch-cell"})
    for i in range(n):
        folder = dest / "submitted" / f"s{i:03d}" / "tiny"
        shutil.copytree(honest, folder)
        (folder / "tiny.ipynb").write_text(json.dumps(notebook))
    return dest


def gradekit(kit: Path, cwd: Path, *args: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(kit)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gradekit.cli", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{kit.name}: gradekit {' '.join(args)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def marks(cwd: Path) -> dict[str, str]:
    with (cwd / "marks" / "tiny.csv").open() as f:
        return {r["student"]: r["auto_total"] for r in csv.DictReader(f) if r["student"] != "(max)"}


def measure(kit: Path, scratch: Path, n: int, jobs: int, torch_cell: bool) -> tuple[float, float, dict]:
    root = course(kit, scratch / f"{kit.name}-{'torch' if torch_cell else 'light'}", n, torch_cell)
    data = root.parent / f"{root.name}-data"
    gradekit(kit, root, "data", "fetch", "tally", "--data-root", str(data))
    run = gradekit(kit, root, "run", "tiny", "--jobs", str(jobs), "--data-root", str(data))
    grade = gradekit(kit, root, "grade", "tiny", "--jobs", str(jobs), "--data-root", str(data))
    gradekit(kit, root, "marks", "tiny")
    return run, grade, marks(root)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100, help="light submissions")
    parser.add_argument("--m", type=int, default=10, help="submissions that import torch")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--kits", nargs="+", default=["73f675c", "here"], help="git revisions, or 'here'")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="gk-light-"))
    rows, seen = [], {}
    try:
        for rev in args.kits:
            kit = checkout(rev, scratch)
            for label, count, torch_cell in (("light", args.n, False), ("torch", args.m, True)):
                if not count:
                    continue
                run, grade, got = measure(kit, scratch, count, args.jobs, torch_cell)
                rows.append((rev, label, count, run, grade))
                print(f"{rev:<10} {label:<6} {count:>4} submissions: run {run:7.1f} s, grade {grade:7.1f} s", flush=True)
                if seen.setdefault(label, got) != got:
                    print(f"  NOTE: {rev}'s {label} marks differ from the first kit's", flush=True)
    finally:
        for rev in args.kits:
            if rev != "here":
                subprocess.run(["git", "worktree", "remove", "--force", str(scratch / f"kit-{rev}")], cwd=REPO,
                               capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\n{'kit':<10} {'batch':<6} {'n':>4} {'run s':>8} {'grade s':>8} {'total s':>8} {'per sub s':>9}  (--jobs {args.jobs})")
    for rev, label, count, run, grade in rows:
        print(f"{rev:<10} {label:<6} {count:>4} {run:>8.1f} {grade:>8.1f} {run + grade:>8.1f} {(run + grade) / count:>9.2f}")


if __name__ == "__main__":
    main()
