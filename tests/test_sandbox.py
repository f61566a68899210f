"""What a sandboxed process can see and do (bubblewrap must be installed: .ci/run installs it)."""
from __future__ import annotations

import sys

import pytest

from conftest import REPO
from gradekit.run import sandbox


@pytest.fixture
def box(tmp_path):
    work, data = tmp_path / "work", tmp_path / "data"
    work.mkdir()
    data.mkdir()
    (data / "x.txt").write_text("data")
    return sandbox.Confinement(workdir=work, readable=(data,), memory_mb=2048, processes=64)


def python(box, code: str, timeout: float = 60):
    return sandbox.run(box.wrap([sys.executable, "-c", code]), timeout, cwd=box.workdir, env=box.env())


def test_bubblewrap_is_there():
    assert sandbox.bwrap_path(), "bubblewrap is missing: apt-get install bubblewrap"


def test_repository_and_graders_are_invisible(box):
    """Nothing of the repository is mounted; where the venv lives inside it (CI's .venv), bubblewrap makes
    the repository's path an empty mount point holding the venv alone."""
    code = (f"import os, json; r = {str(REPO)!r}\n"
            "print(json.dumps(sorted(os.listdir(r)) if os.path.isdir(r) else []))")
    done = python(box, code)
    assert done.returncode == 0, done.output
    visible = set(__import__("json").loads(done.output.strip().splitlines()[-1]))
    assert visible <= {".venv"}, visible


def test_data_is_read_only_and_work_is_writable(box):
    data = box.readable[0]
    done = python(box, f"open('out.txt','w').write('ok')\nopen({str(data / 'x.txt')!r},'a').write('x')")
    assert done.returncode != 0 and "Read-only file system" in done.output
    assert (box.workdir / "out.txt").read_text() == "ok" and (data / "x.txt").read_text() == "data"


def test_no_network(box):
    done = python(box, "import socket\ns = socket.socket()\ns.settimeout(3)\ns.connect(('1.1.1.1', 80))")
    assert done.returncode != 0 and ("unreachable" in done.output or "OSError" in done.output), done.output


def test_wall_time_limit_kills_the_process_group(box):
    done = python(box, "import subprocess, time\nsubprocess.Popen(['sleep', '300'])\ntime.sleep(300)", timeout=2)
    assert done.timed_out and done.returncode is None
