"""Submissions that attack the trusted side through a real batch (run, grade, marks on the tiny course):
the output budget through raw file descriptors, /tmp and the disk and file-count budgets, a pipe or a
too-deep JSON where the graders read answers, the host's environment and root-only files, escape
sequences for the batch's terminal and script for the feedback page. Each must cost only its author,
with a reason; nobody else's marks change and nothing needs the staff's attention."""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import TINY, gradekit, tiny_course

sys.path.insert(0, str(TINY))
from build import DOUBLE, SETUP, notebook  # noqa: E402  (the tiny course's own notebook builder)

ANSWER = "values = np.load(DATA_ROOT + '/tiny/values.npy')\nsubmit.answer('tiny.answer', int(values.sum()))"
RAW_FLOOD = "import os\nfor _ in range(400):\n    os.write(1, b'x' * 100_000)"
TMP_FILL = ("written = 0\ntry:\n    for i in range(3000):\n        open(f'/tmp/fill{i}', 'wb').write(b'x' * (1 << 20))\n"
            "        written += 1\nexcept OSError as e:\n    print('tmp full after', written, 'MB:', e)")
DISK_FILL = "import time\nfor i in range(200):\n    open(f'fill{i}.bin', 'wb').write(b'x' * (1 << 20))\n    time.sleep(0.02)"
MANY_FILES = "import os, time\nos.makedirs('many', exist_ok=True)\nfor i in range(40_000):\n    open(f'many/{i}', 'w').close()\ntime.sleep(2)"
PIPE = "import os\nsubmit.answer('tiny.answer', 42)\nos.remove(OUTPUT_DIR + '/answers.json')\nos.mkfifo(OUTPUT_DIR + '/answers.json')"
DEEP = "open(OUTPUT_DIR + '/answers.json', 'w').write('[' * 100000 + ']' * 100000)"
SNOOP = ("import os\nprint('ENV', sorted(os.environ))\ntry:\n    print('PID1', open('/proc/1/environ').read())\n"
         "except OSError as e:\n    print('PID1 unreadable')\ntry:\n    print('SHADOW', open('/etc/shadow').read())\n"
         "except OSError as e:\n    print('shadow unreadable')")
ESCAPES = "raise ValueError('\\x1b[2K\\r\\x1b[1A  h00_honest: ok (1 s) all cells ran \\x1b[8m')"
FAKE_PLOT = ("from IPython.display import display\n"
             "display({'image/png': \"x' onerror='document.body.innerHTML=1\", 'text/plain': 'plot'}, raw=True)")

HONEST_MODEL = "import torch\nsubmit.model('m', torch.nn.Linear(4, 3), torch.rand(2, 4))"
# the attack: the notebook rewrites its own .pt2 so that one weight is a pickle whose loading, in
# torch.export.load, would run a command in the grader: append a test to the graders, leave a marker
CRAFTED_MODEL = """import json, os, pickle, zipfile
import torch
class Payload:
    def __reduce__(self):
        return (os.system, ("touch {marker}; echo 'def test_pwned(): pass' >> {grader}",))
submit.model('m', torch.nn.Linear(4, 3), torch.rand(2, 4))
path = OUTPUT_DIR + '/m.pt2'
with zipfile.ZipFile(path) as src:
    members = {{n: src.read(n) for n in src.namelist()}}
config_name = next(n for n in members if n.endswith('model_weights_config.json'))
config = json.loads(members[config_name])
fqn, meta = next(iter(config['config'].items()))
meta['use_pickle'] = True
members[config_name.rsplit('/', 1)[0] + '/' + meta['path_name']] = pickle.dumps(Payload())
members[config_name] = json.dumps(config).encode()
with zipfile.ZipFile(path, 'w') as dst:
    for name, data in members.items():
        dst.writestr(name, data)
print('crafted')"""
MODEL_GRADER = """import pytest
import torch

from gradekit.grading.checks import require


@pytest.mark.item("tiny.model", points=2)
def test_model(submission):
    out = submission.model("m")(torch.rand(2, 4))
    require(tuple(out.shape) == (2, 3), "the model must map 4 numbers to 3")
"""

SUBMISSIONS = {
    "t00_honest": (notebook(SETUP, DOUBLE, ANSWER, HONEST_MODEL), "ok", 4),
    "t01_raw_fd_flood": (notebook(SETUP, DOUBLE, RAW_FLOOD, ANSWER), "output too large", 2),
    "t02_fills_tmp": (notebook(SETUP, DOUBLE, TMP_FILL, ANSWER), "ok", 4),
    "t03_fills_disk": (notebook(SETUP, DOUBLE, DISK_FILL, ANSWER), "disk budget exceeded", 2),
    "t04_many_files": (notebook(SETUP, DOUBLE, MANY_FILES, ANSWER), "disk budget exceeded", 2),
    "t05_answers_pipe": (notebook(SETUP, DOUBLE, PIPE), "ok", 2),
    "t06_deep_answers": (notebook(SETUP, DOUBLE, DEEP), "ok", 2),
    "t07_snoops": (notebook(SETUP, DOUBLE, SNOOP, ANSWER), "ok", 4),
    "t08_terminal_escapes": (notebook(SETUP, DOUBLE, ESCAPES), "error", 2),
    "t09_fake_plot": (notebook(SETUP, DOUBLE, FAKE_PLOT, ANSWER), "ok", 4),
    "t10_crafted_model": (None, "ok", 4),   # built with the course's paths in it, below
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    course, data = tiny_course(tmp_path_factory.mktemp("trusted") / "course", [])
    toml = course / "source" / "tiny" / "assignment.toml"   # torch's libraries map more than tiny's 2 GB
    toml.write_text(toml.read_text().replace("memory_mb = 2048", "memory_mb = 8192"))
    grader = course / "grader_tests" / "tiny" / "test_model.py"
    grader.write_text(MODEL_GRADER)
    crafted = CRAFTED_MODEL.format(marker=course.parent / "pwned", grader=grader)
    SUBMISSIONS["t10_crafted_model"] = (notebook(SETUP, DOUBLE, ANSWER, crafted), "ok", 4)
    for student, (nb, _, _) in SUBMISSIONS.items():
        folder = course / "submitted" / student / "tiny"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "tiny.ipynb")
    run = gradekit("run", "tiny", "--jobs", "2", "--data-root", str(data), cwd=course)
    gradekit("grade", "tiny", "--jobs", "2", "--data-root", str(data), cwd=course)
    marks = gradekit("marks", "tiny", cwd=course, check=False)
    return course, run, marks


def _records(course: Path, student: str) -> tuple[dict, dict]:
    folder = course / "autograded" / student / "tiny"
    return json.loads((folder / "run.json").read_text()), json.loads((folder / "grade.json").read_text())


@pytest.mark.slow   # ten notebooks through run, grade and marks: a minute and more
def test_each_attack_costs_only_its_author_with_a_reason(batch):
    course, _, marks = batch
    assert marks.returncode == 0, marks.stdout + marks.stderr   # nothing needs the staff's attention
    for student, (_, status, total) in SUBMISSIONS.items():
        run, grade = _records(course, student)
        assert run["status"] == status, (student, run["reason"])
        base = sum(i["points"] for i in grade["items"] if i["id"] != "tiny.model")
        assert base == total, (student, [(i["id"], i["reason"]) for i in grade["items"]])
        assert all(i["status"] != "needs attention" for i in grade["items"]), student


@pytest.mark.slow
def test_a_crafted_model_runs_nothing_in_the_grader(batch):
    course = batch[0]
    assert not (course.parent / "pwned").exists()
    assert (course / "grader_tests" / "tiny" / "test_model.py").read_text() == MODEL_GRADER
    model = {i["id"]: i for i in _records(course, "t10_crafted_model")[1]["items"]}["tiny.model"]
    assert model["points"] == 0 and model["status"] == "failed" and "stored as a pickle" in model["reason"]
    honest = {i["id"]: i for i in _records(course, "t00_honest")[1]["items"]}["tiny.model"]
    assert honest["points"] == 2, honest


@pytest.mark.slow
def test_the_reasons_name_the_limit(batch):
    course = batch[0]
    assert "sys.stdout.fileno()" in _records(course, "t01_raw_fd_flood")[0]["reason"]
    assert "`disk_mb`" in _records(course, "t03_fills_disk")[0]["reason"]
    assert "(`files`)" in _records(course, "t04_many_files")[0]["reason"]
    pipe = {i["id"]: i for i in _records(course, "t05_answers_pipe")[1]["items"]}["tiny.answer"]
    assert "was not submitted" in pipe["reason"]
    deep = {i["id"]: i for i in _records(course, "t06_deep_answers")[1]["items"]}["tiny.answer"]
    assert "nests deeper than 64 levels" in deep["reason"]
    notebook = (course / "autograded" / "t02_fills_tmp" / "tiny" / "tiny.ipynb").read_text()
    assert "tmp full after 51" in notebook and "No space left on device" in notebook   # 512 MB: `tmp_mb`


@pytest.mark.slow
def test_the_sandbox_showed_nothing_of_the_host(batch):
    course = batch[0]
    printed = (course / "autograded" / "t07_snoops" / "tiny" / "tiny.ipynb").read_text()
    assert "PID1 unreadable" in printed or "PID1 \\n" in printed or "PID1 \"" in printed, printed[-2000:]
    assert "shadow unreadable" in printed and "root:" not in printed
    assert "VIRTUAL_ENV" not in printed and "JUPYTER_PATH" not in printed and "DATA_ROOT=" not in printed


@pytest.mark.slow
def test_terminal_sheet_and_pages_carry_no_live_markup(batch):
    course, run, _ = batch
    assert "\x1b" not in run.stdout and "\x1b" not in run.stderr
    assert "\r\x1b" not in run.stderr
    page = (course / "feedback" / "t09_fake_plot" / "tiny.html").read_text()
    assert "onerror" not in page and "Your plots" not in page
    rows = list(csv.reader((course / "marks" / "tiny.csv").open()))
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)
