"""What a sandboxed process can see and do (bubblewrap must be installed: .ci/run installs it)."""
from __future__ import annotations

import sys
import time

import pytest

from conftest import REPO
from gradekit.platform import sandbox


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
    assert done.returncode != 0 and ("Read-only file system" in done.output or "Permission denied" in done.output)
    assert (box.workdir / "out.txt").read_text() == "ok" and (data / "x.txt").read_text() == "data"


def test_no_network(box):
    done = python(box, "import socket\ns = socket.socket()\ns.settimeout(3)\ns.connect(('1.1.1.1', 80))")
    assert done.returncode != 0 and ("unreachable" in done.output or "OSError" in done.output), done.output


def test_wall_time_limit_kills_the_process_group(box):
    done = python(box, "import subprocess, time\nsubprocess.Popen(['sleep', '300'])\ntime.sleep(300)", timeout=2)
    assert done.timed_out and done.returncode is None


def test_the_sandbox_sees_nothing_of_the_kits_environment(box, monkeypatch):
    """bubblewrap itself (PID 1 inside, /proc/1/environ) starts from an empty environment, not the kit's."""
    monkeypatch.setenv("GRADEKIT_SECRET_FOR_TEST", "hunter2")
    code = ("import os\nprint(sorted(os.environ))\n"
            "try:\n    print('PID1', open('/proc/1/environ').read())\nexcept OSError as e:\n    print('PID1 unreadable', e)")
    done = python(box, code)
    assert done.returncode == 0, done.output
    assert "hunter2" not in done.output and "GRADEKIT_SECRET_FOR_TEST" not in done.output
    assert "VIRTUAL_ENV" not in done.output and "JUPYTER" not in done.output


@pytest.mark.slow   # 2 s of watching the process (the fast lane keeps under two minutes)
@pytest.mark.skipif(__import__("os").geteuid() != 0, reason="the kit runs as root: only then is there an account to drop to")
def test_a_root_kit_runs_the_sandbox_as_an_unprivileged_host_account(box):
    """The kernel is a host uid that is not root: root-only files stay unreadable, and it can take no
    capability back."""
    import os
    import subprocess

    code = ("import os\nprint('uid', os.getuid(), os.geteuid())\n"
            "print('caps', open('/proc/self/status').read().split('CapEff:')[1].split()[0])\n"
            "try:\n    open('/etc/shadow').read(); print('SHADOW READ')\nexcept OSError as e:\n    print('shadow:', e)\n"
            "try:\n    os.setuid(0); print('BECAME ROOT')\nexcept OSError as e:\n    print('setuid:', e)\n"
            "import time; time.sleep(2)")
    proc = subprocess.Popen(box.wrap([sys.executable, "-c", code]), cwd=box.workdir, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    time.sleep(1.2)
    host_uids = subprocess.run(["ps", "-o", "uid=", "--ppid", str(proc.pid), "-p", str(proc.pid)],
                               capture_output=True, text=True).stdout.split()
    out, _ = proc.communicate(timeout=60)
    uid, _ = sandbox.sandbox_ids()
    assert f"uid {uid} {uid}" in out and "caps 0000000000000000" in out, out
    assert "shadow: [Errno 13] Permission denied" in out and "SHADOW READ" not in out
    assert "BECAME ROOT" not in out and "setuid:" in out
    assert (box.workdir / ".home").stat().st_uid == uid
    assert host_uids and host_uids[0] == "0"   # the launcher; what it starts runs as the sandbox account
    descendants = subprocess.run(["pgrep", "-f", "import os\nprint('uid'"], capture_output=True, text=True).stdout
    assert os.getuid() == 0 and descendants == ""


def test_tmp_and_shm_are_sized(box):
    code = ("import os\nfor d in ('/tmp', '/dev/shm'):\n    s = os.statvfs(d)\n    print(d, s.f_blocks * s.f_frsize >> 20)\n"
            "try:\n    open('/tmp/big', 'wb').write(b'x' * (600 << 20))\nexcept OSError as e:\n    print('full:', e)")
    done = python(box, code)
    assert "/tmp 512" in done.output and "/dev/shm 512" in done.output, done.output
    assert "No space left on device" in done.output, done.output
