"""A course whose one assignment declares tasks (built from the tiny course): a warm-up task that each
submission breaks its own way, then the two tasks the graders mark. A failure must cost only the warm-up."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from conftest import TINY, gradekit

SETUP = "import numpy as np\nfrom gradekit_submit import Submission\nsubmit = Submission(OUTPUT_DIR)"
DOUBLE = "def double(x):\n    return x * 2"
ANSWER = "values = np.load(DATA_ROOT + '/tiny/values.npy')\nsubmit.answer('tiny.answer', int(values.sum()))"
TOML = '''title = "tiny with tasks (kit tests)"
datasets = ["tally"]

[limits]
cell_timeout_s = 4
notebook_timeout_s = 150
memory_mb = 4096
processes = 64
output_mb = 2

[tasks]
setup = ["setup"]
starts = [{ name = "Warm-up 1", at = "warmup-1" }, { name = "Warm-up 2", at = "warmup-2" },
          { name = "Warm-up 3", at = "warmup-3" }, { name = "Double", at = "task-double" },
          { name = "Answer", at = "task-answer" }]
'''
SLEEPS = "import time\ntime.sleep(120)"
ABORTS = "import os\nos.write(2, b'about to abort\\n')   # as libstdc++ does before a C++ abort\nos.abort()"
OVER_CAP = "big = np.random.rand(1000, 1000)\nsubmit.arrays('warmup_big', weights=big)"
IGNORES_INTERRUPT = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(120)"
FINE = "print('warm')"
WARMUPS = {   # the three warm-up tasks of each submission
    "t0_honest": (FINE, FINE, FINE),
    "t1_sleeps": (SLEEPS, FINE, FINE),
    "t2_aborts": (FINE, ABORTS, FINE),
    "t3_over_cap": (FINE, FINE, OVER_CAP),
    "t4_ignores_interrupt": (IGNORES_INTERRUPT, FINE, FINE),
    "t5_all_three": (SLEEPS, ABORTS, OVER_CAP),
}


def notebook(warmups: tuple[str, str, str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('DATA_ROOT = "./data"\nOUTPUT_DIR = "./outputs"\nDEVICE = "cpu"\nPROFILE = "smoke"\nSEED = 0')
    params.metadata["tags"] = ["parameters"]
    setup = nbformat.v4.new_code_cell(SETUP)
    setup.metadata["tags"] = ["setup"]
    cells = [params, setup]
    for n, source in enumerate(warmups, 1):
        cells += [nbformat.v4.new_markdown_cell(f"## Warm-up {n}"), nbformat.v4.new_code_cell(source)]
        cells[-2].metadata["tags"] = [f"warmup-{n}"]
    cells += [nbformat.v4.new_markdown_cell("## Double"), nbformat.v4.new_code_cell(DOUBLE),
              nbformat.v4.new_markdown_cell("## Answer"), nbformat.v4.new_code_cell(ANSWER)]
    cells[-4].metadata["tags"] = ["task-double"]
    cells[-2].metadata["tags"] = ["task-answer"]
    for i, cell in enumerate(cells):
        cell.id = f"c{i}"
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def task_course(dest: Path, students: list[str]) -> tuple[Path, Path]:
    for part in ("grader_tests", "datasets"):
        shutil.copytree(TINY / part, dest / part)
    (dest / "source" / "tiny").mkdir(parents=True)
    (dest / "source" / "tiny" / "assignment.toml").write_text(TOML)
    nbformat.write(notebook(WARMUPS["t0_honest"]), dest / "source" / "tiny" / "tiny.ipynb")
    shutil.copyfile(TINY.parents[2] / "nbgrader_config.py", dest / "nbgrader_config.py")
    for student in students:
        folder = dest / "submitted" / student / "tiny"
        folder.mkdir(parents=True)
        nbformat.write(notebook(WARMUPS[student]), folder / "tiny.ipynb")
    data = dest.parent / f"{dest.name}-data"
    gradekit("data", "fetch", "tally", "--data-root", str(data), cwd=dest)
    return dest, data
