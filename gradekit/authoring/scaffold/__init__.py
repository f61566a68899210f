"""`gradekit new A`: a working example assignment to edit, with one cell of every kind and one grader of
every kind. It releases, solves with every auto point, and grades a blank release with zero, as it is."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from gradekit.errors import ScaffoldRefused

HERE = Path(__file__).parent
VALID_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _meta(name: str, cell_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": cell_id if grade else f"{name}-{cell_id}", "locked": locked,
            "schema_version": 3, "solution": solution}
    if grade:
        meta["points"], meta["task"] = points, False
    return {"nbgrader": meta}


def notebook(name: str) -> nbformat.NotebookNode:
    def locked_md(cid, text):
        return new_markdown_cell(text, metadata=_meta(name, cid, locked=True))

    cells = [
        locked_md("intro", f"# {name}\n\nAn example made by `gradekit new`: edit it into your assignment "
                           "(docs/authoring.md). Results reach the graders only through `submit`."),
        new_code_cell('# Parameters: the grading runner replaces these values. Keep the names.\nDATA_ROOT = "./data"\n'
                      'OUTPUT_DIR = "./outputs"\nDEVICE = "auto"\nPROFILE = "full"\nSEED = 0',
                      metadata={**_meta(name, "parameters", locked=True), "tags": ["parameters"]}),
        new_code_cell("# A locked cell: given code the student may not change.\nimport matplotlib.pyplot as plt\n"
                      "import numpy as np\nimport torch\nimport torch.nn as nn\n\nfrom gradekit_submit import Submission\n\n"
                      "%matplotlib inline\ntorch.manual_seed(SEED)\nsubmit = Submission(OUTPUT_DIR)\n\n\n"
                      "def blobs(n, seed):\n    g = torch.Generator().manual_seed(seed)\n"
                      "    y = torch.randint(0, 2, (n,), generator=g)\n"
                      "    x = torch.randn(n, 2, generator=g) * 0.6 + torch.where(y[:, None] == 1, 1.5, -1.5)\n"
                      "    return x, y",
                      metadata=_meta(name, "setup", locked=True)),
        locked_md("q1-text", "**Q1 [2]** Compute 0.1 + 0.2 + … + 0.9 by hand and submit it as `q1.sum` "
                             "(checked to 3 significant figures)."),
        new_code_cell("### BEGIN SOLUTION\nq1_sum = 4.5\n### END SOLUTION\nsubmit.answer(\"q1.sum\", q1_sum)",
                      metadata=_meta(name, "q1-code", solution=True)),
        locked_md("q2-text", "**Q2 [2]** Write `standardise(x)`: `(x - mean) / std` over all elements of a numpy "
                             "array. The graders call it on arrays of their own."),
        new_code_cell('def standardise(x):\n    """(x - mean) / standard deviation."""\n    ### BEGIN SOLUTION\n'
                      "    return (x - x.mean()) / x.std()\n    ### END SOLUTION",
                      metadata=_meta(name, "q2-code", solution=True)),
        locked_md("q3-text", "**Q3 [3 + 2 + 1]** Train a classifier with at most 100 parameters on `blobs(200, SEED)` "
                             "and submit it: `submit.model(\"q3_model\", model, example)` (it takes (N, 2) points and "
                             "returns 2 logits). The graders measure its accuracy on points of their own (half the "
                             "points at 80 %, all at 95 %). Explain your choice in the answer cell [2]; plot the "
                             "decision regions in the code answer cell [1]."),
        new_code_cell("### BEGIN SOLUTION\nX, y = blobs(200, SEED)\nmodel = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))\n"
                      "opt = torch.optim.Adam(model.parameters(), lr=0.05)\nfor step in range(200):\n"
                      "    loss = nn.functional.cross_entropy(model(X), y)\n    opt.zero_grad(); loss.backward(); opt.step()\n"
                      "model.eval()\n### END SOLUTION\nsubmit.model(\"q3_model\", model, X[:4])",
                      metadata=_meta(name, "q3-code", solution=True)),
        new_markdown_cell("### BEGIN SOLUTION\nA small MLP (2 → 8 → 2, 42 parameters): the two blobs are almost "
                          "linearly separable, so one hidden layer is plenty.\n### END SOLUTION",
                          metadata=_meta(name, "q3-explain", grade=True, solution=True, points=2)),
        new_code_cell("### BEGIN SOLUTION\ngrid = torch.stack(torch.meshgrid(torch.linspace(-4, 4, 100), torch.linspace(-4, 4, 100),"
                      " indexing=\"xy\"), -1).reshape(-1, 2)\nwith torch.no_grad():\n"
                      "    regions = model(grid).argmax(1).reshape(100, 100)\nplt.contourf(np.linspace(-4, 4, 100), "
                      "np.linspace(-4, 4, 100), regions, alpha=0.3)\nplt.scatter(X[:, 0], X[:, 1], c=y, s=8)\nplt.show()\n"
                      "### END SOLUTION", metadata=_meta(name, "q3-plot", grade=True, solution=True, points=1)),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nb


def course_root(start: Path) -> Path:
    """The course around `start` (a folder with nbgrader_config.py), or `start` itself for a new course."""
    for candidate in (start, *start.parents):
        if (candidate / "nbgrader_config.py").exists():
            return candidate
    return start


def create(course_root: Path, name: str) -> list[Path]:
    """source/<name>/ and grader_tests/<name>/ (and, in a new course, nbgrader_config.py and an empty
    datasets/datasets.toml), refusing to overwrite anything."""
    if not VALID_NAME.match(name):
        raise ScaffoldRefused(f"'{name}' is not a valid assignment name (a letter, then letters, digits, _)")
    source, graders = course_root / "source" / name, course_root / "grader_tests" / name
    for folder in (source, graders):
        if folder.exists():
            raise ScaffoldRefused(f"{folder} already exists")
    source.mkdir(parents=True)
    graders.mkdir(parents=True)
    new_course = []
    if not (course_root / "nbgrader_config.py").exists():
        (course_root / "nbgrader_config.py").write_text((HERE / "nbgrader_config.py").read_text())
        new_course.append(course_root / "nbgrader_config.py")
    if not (course_root / "datasets" / "datasets.toml").exists():
        (course_root / "datasets").mkdir(exist_ok=True)
        (course_root / "datasets" / "datasets.toml").write_text(
            "# The datasets this course's assignments share: [dataset.<name>] tables (docs/datasets.md).\n")
        new_course.append(course_root / "datasets" / "datasets.toml")
    written = [source / f"{name}.ipynb", source / "assignment.toml", graders / "conftest.py", graders / "test_example.py"]
    nbformat.write(notebook(name), written[0])
    for template, dest in zip(("assignment.toml", "conftest.py", "test_example.py"), written[1:]):
        dest.write_text((HERE / template).read_text().replace("{name}", name))
    return new_course + written
