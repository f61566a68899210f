"""Kernels made ready before their submission (gradekit.run.slots) and the zygote the runner and the grading
worker are forked from (gradekit.platform.zygote): faster, and nothing a student can reach changes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from gradekit.course.limits import Limits
from gradekit.platform import sandbox
from gradekit.platform.zygote import Zygote
from gradekit.run.execute import Job, run
from gradekit.run.slots import SLOTS

FIRST = ("import os, sys\nLEAK = 1\nopen('/tmp/leak', 'w').write('x')\nos.environ['LEAK'] = '1'\n"
         "sys.modules['planted'] = sys\nopen('planted.py', 'w').write('X = 1')\nprint('first done')")
SECOND = ("import os, sys\nprint(json.dumps({'preloaded': 'decimal' in sys.modules, 'bound': 'decimal' in globals(),\n"
          "  'leak': 'LEAK' in globals(), 'tmp': os.path.exists('/tmp/leak'), 'env': 'LEAK' in os.environ,\n"
          "  'module': 'planted' in sys.modules, 'file': os.path.exists('planted.py'), 'cwd': sorted(os.listdir('.'))}))")


def _submission(folder: Path, code: str) -> Path:
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('OUTPUT_DIR = "out"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("import json"), nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "w.ipynb")
    return folder


def _job(tmp_path: Path, student: str, code: str, preload=("decimal",)) -> Job:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return Job("w", student, _submission(tmp_path / "submitted" / student / "w", code),
               tmp_path / "autograded" / student / "w", "smoke", data, 0, "cpu",
               Limits(cell_timeout_s=60, notebook_timeout_s=120, memory_mb=2048), threads=1, preload=preload)


def _printed(dest: Path) -> str:
    cells = nbformat.read(dest / "w.ipynb", as_version=4).cells
    return "".join(o.get("text", "") for o in cells[-1].outputs if o.output_type == "stream")


def _ready_slot(kind, wait_s: float = 60):
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        with SLOTS.lock:
            ready = list(SLOTS.ready.get(kind, []))
        if ready and ready[0].alive():
            return ready[0]
        time.sleep(0.1)
    return None


@pytest.mark.slow  # two kernels started: seconds (the fast lane keeps the zygote's own tests)
def test_a_kernel_made_ready_ahead_has_run_nobodys_code(tmp_path):
    """The second student's kernel was started while the first ran (its preload imported, no name bound);
    nothing the first student left in their kernel, /tmp, environment or folder reaches the second."""
    first = _job(tmp_path, "ann", FIRST)
    record = run(first)
    assert record.status == "ok", record.reason
    ahead = _ready_slot(first.kind())
    assert ahead is not None, "no kernel was made ready for the next submission"
    second = _job(tmp_path, "bob", SECOND)
    record = run(second)
    assert record.status == "ok", record.reason
    seen = json.loads(_printed(second.dest).strip().splitlines()[-1])
    assert seen == {"preloaded": True, "bound": False, "leak": False, "tmp": False, "env": False, "module": False,
                    "file": False, "cwd": seen["cwd"]}, seen
    assert "planted.py" not in seen["cwd"] and "w.ipynb" in seen["cwd"]
    assert ahead.process.poll() is not None, "the slot's runner outlived its run"
    # the run's clock and its cost are the student's: the kernel's start came before both
    assert 0 < record.cost["cells_s"] <= record.cost["wall_s"] and record.cost["kernel_ready"] is True
    assert (second.dest / "run.json").exists() and not list(tmp_path.glob("autograded/*/.*staging"))


@pytest.mark.slow  # kernels and sandboxes started: seconds
def test_a_slot_of_another_kind_is_discarded_and_nothing_is_left(tmp_path):
    first = _job(tmp_path, "ann", "print(1)", preload=("decimal",))
    run(first)
    old = _ready_slot(first.kind())
    assert old is not None
    other = _job(tmp_path, "bob", "print(2)", preload=("fractions",))
    assert run(other).status == "ok"
    deadline = time.monotonic() + 30
    while old.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert old.process.poll() is not None, "an idle kernel of another kind was kept"
    assert not old.staging.root.exists()
    newer = _ready_slot(other.kind())
    SLOTS.discard_all()
    assert newer is not None and newer.process.poll() is not None and not newer.staging.root.exists()


@pytest.mark.slow  # kernels and sandboxes started: seconds
def test_a_kernel_that_died_while_waiting_is_replaced_not_charged(tmp_path):
    first = _job(tmp_path, "ann", "print(1)")
    run(first)
    ahead = _ready_slot(first.kind())
    assert ahead is not None
    kernels = subprocess.run(["pgrep", "-f", f"ipykernel_launcher.*{ahead.staging.sockets}"], capture_output=True,
                             text=True).stdout.split()
    assert kernels, "the ready slot has no kernel"
    for pid in kernels:
        os.kill(int(pid), signal.SIGKILL)
    time.sleep(0.5)
    record = run(_job(tmp_path, "bob", "print('fine')"))
    assert record.status == "ok", record.reason
    assert "fine" in _printed(tmp_path / "autograded" / "bob" / "w")


def _spawn(zygote: Zygote, code: str, timeout_s: float = 30) -> sandbox.Completed:
    read, write = os.pipe()
    nothing = os.open(os.devnull, os.O_RDONLY)
    child = zygote.spawn("builtins:exec", [code], dict(os.environ), Path("/"), (nothing, write))
    os.close(write)
    os.close(nothing)
    return sandbox.Supervised(child, open(read, "rb")).finish(timeout_s)


def test_the_zygotes_children_are_fresh_processes_with_their_own_group():
    zygote = Zygote.shared(("decimal",))
    done = _spawn(zygote, "import os, sys\nprint(os.getpid() == os.getpgid(0), os.getcwd(), 'decimal' in sys.modules)\n"
                          "sys.exit(3)")
    assert done.returncode == 3 and done.output.split() == ["True", "/", "True"], done.output
    slow = _spawn(zygote, "import subprocess, time\nsubprocess.Popen(['sleep', '300'])\ntime.sleep(300)", timeout_s=1)
    assert slow.timed_out and slow.returncode is None
    assert subprocess.run(["pgrep", "-f", "^sleep 300$"], capture_output=True).returncode == 1, "the group survived"


@pytest.mark.slow  # starts an interpreter that starts a zygote
def test_a_killed_creator_takes_the_zygote_and_its_children_with_it(tmp_path):
    marker = tmp_path / "sleeping"
    child = f"import os, time\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\ntime.sleep(300)"
    script = (f"import os, sys, time\nfrom pathlib import Path\nsys.path.insert(0, {str(REPO)!r})\n"
              f"from gradekit.platform.zygote import Zygote\nz = Zygote(('json',))\nr, w = os.pipe()\n"
              f"z.spawn('builtins:exec', [{child!r}], dict(os.environ), Path('/'), (r, w))\n"
              f"print(z.process.pid, flush=True)\ntime.sleep(300)")
    creator = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    zygote_pid = int(creator.stdout.readline())
    deadline = time.monotonic() + 30
    while (not marker.exists() or not marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    child_pid = int(marker.read_text())
    creator.kill()
    creator.wait()
    time.sleep(1.5)
    for pid in (zygote_pid, child_pid):
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2], pid


@pytest.mark.slow  # a tiny course run and graded: seconds
def test_a_call_worker_made_ready_ahead_is_handed_to_the_next_grading(tmp_path):
    """The batch makes the next student's call worker ready while one is graded, and hands it to the grading
    process (fds 3 and 4): it is used (the student's function answers through it) and ended after."""
    from conftest import gradekit, tiny_course
    from gradekit.course import Course
    from gradekit.grading.stage import CALL_WORKERS, Grading, grade_one

    students = ["h00_honest", "h01_raises", "h13_hides_tracebacks"]
    course, data = tiny_course(tmp_path / "course", students)
    gradekit("run", "tiny", "--data-root", str(data), cwd=course)
    assignment = Course(course).assignment("tiny")
    reports = [grade_one(assignment, course / "autograded" / s / "tiny", Grading(data, "smoke", 0)) for s in students]
    assert [[(i.id, i.points) for i in r.items] for r in reports] == [
        [("tiny.answer", 2), ("tiny.double", 2)], [("tiny.answer", 0), ("tiny.double", 2)],
        [("tiny.answer", 0), ("tiny.double", 2)]], reports
    handed = [k for k in CALL_WORKERS.used if k.data_root == data]
    assert handed, "no grading used a call worker made ready for it"
    leftover = [w for ws in CALL_WORKERS.ready.values() for w in ws]
    CALL_WORKERS.discard_all()
    assert all(not w.alive() and not w.home.exists() for w in leftover)


@pytest.mark.slow  # kernels and sandboxes started: seconds
def test_a_handed_over_worker_that_crashes_costs_one_call_with_its_exit_code(tmp_path, monkeypatch):
    """In the grading process the handed-over worker is not its child: its exit status is read from /proc."""
    from gradekit.grading.failures import ItemFailed
    from gradekit.grading.student_code import StudentCode
    from gradekit.grading.worker import HANDED_OVER, SandboxedWorker, WorkerKind

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os\ndef die():\n    os._exit(3)\ndef one():\n    return 1",
                                          execution_count=1)]
    nbformat.write(nb, tmp_path / "sub.ipynb")
    code = StudentCode(tmp_path, tmp_path, timeout_s=60)
    ready = SandboxedWorker(code.kind)
    env, fds = ready.handover()
    note = json.loads(env[HANDED_OVER])
    monkeypatch.setenv(HANDED_OVER, json.dumps({**note, "fds": [os.dup(fds[0]), os.dup(fds[1])]}))
    with pytest.raises(ItemFailed, match="crashed the worker process \\(exit code 3\\)"):
        code.call("die")
    assert ready.loaded and HANDED_OVER not in os.environ   # it was this one, taken once
    assert int(code.call("one")[0]) == 1                     # a fresh process of its own after the crash
    code.close()
    ready.close()
    assert not ready.home.exists()
    other = StudentCode(tmp_path, tmp_path, 60, WorkerKind.of(tmp_path, {}, code.kind.limits, preload=("decimal",)))
    monkeypatch.setenv(HANDED_OVER, env[HANDED_OVER])
    assert SandboxedWorker.handed_over(other.kind) is None   # made for another kind: not taken


def test_run_folders_a_killed_batch_left_are_swept(tmp_path):
    from gradekit.run import staging

    base = tmp_path / "autograded"
    dead, mine = base / ".gk-run-999999999-abc", base / f".gk-run-{os.getpid()}-def"
    for folder in (dead, mine):
        (folder / "work").mkdir(parents=True)
    staging.sweep(base)
    assert not dead.exists() and mine.exists()


def test_check_refuses_a_preload_that_is_not_installed(tmp_path):
    import shutil

    from conftest import TINY
    from gradekit.course import Course

    for part in ("source", "grader_tests", "datasets"):
        shutil.copytree(TINY / part, tmp_path / part)
    (tmp_path / "nbgrader_config.py").write_text("")
    toml = tmp_path / "source" / "tiny" / "assignment.toml"
    text = toml.read_text()
    toml.write_text('preload = ["numpy", "no_such_module_for_gradekit"]\n' + text)
    assert any("no_such_module_for_gradekit, not installed" in p for p in Course(tmp_path).assignment("tiny").problems())
    toml.write_text('preload = "torch"\n' + text)
    assert any("preload must be a list of module names" in p for p in Course(tmp_path).assignment("tiny").problems())
    toml.write_text('preload = ["numpy", "decimal"]\n' + text)
    assignment = Course(tmp_path).assignment("tiny")
    assert assignment.problems() == [] and assignment.preload() == ("numpy", "decimal")
