"""One sandboxed process per grading session that runs a notebook's definitions and answers call requests
(gradekit/provided/callworker.py on the other side). Starting Python, torch and the notebook's imports
costs seconds; graders make a dozen calls per student, so the process is started once and reused. A call
that hangs or kills the process costs only that call: the next one starts a fresh process."""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import weakref
from pathlib import Path

from gradekit import provided
from gradekit.run import sandbox
from gradekit.run.limits import PidsCgroup

PROVIDED = Path(provided.__file__).resolve().parent
FILES = ("callworker.py", "graphfacts.py")


class WorkerGone(Exception):
    """The process did not answer: it timed out (then it was killed) or it died."""

    def __init__(self, timed_out: bool, returncode: int | None):
        super().__init__("timed out" if timed_out else f"exit code {returncode}")
        self.timed_out, self.returncode = timed_out, returncode


class SandboxedWorker:
    def __init__(self, definitions: str, data_root: Path, manifest: dict):
        self.work = Path(tempfile.mkdtemp(prefix="gk-call-"))
        (self.work / "definitions.py").write_text(definitions)
        for name in FILES:
            shutil.copyfile(PROVIDED / name, self.work / name)
        provided.write(self.work, manifest)  # the notebook's imports of the kit's helpers must resolve
        confinement = sandbox.Confinement(workdir=self.work, readable=(data_root,), memory_mb=8192, processes=64)
        self.group = PidsCgroup(confinement.processes).__enter__()
        self.proc = subprocess.Popen(self.group.enter(confinement.wrap([sys.executable, "callworker.py"])),
                                     cwd=self.work, env=confinement.env(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=sandbox._die_with_parent)
        self.requests = 0
        self._finalizer = weakref.finalize(self, _shut_down, self.proc, self.group, self.work)

    def path(self, name: str) -> Path:
        return self.work / name

    def ask(self, n: int, timeout_s: float) -> dict:
        """Request n (its request_n.json and args_n.npz already in the work folder) -> result_n.json's content."""
        try:
            self.proc.stdin.write(f"{n}\n".encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerGone(False, self.proc.poll()) from None
        readable, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
        if not readable:
            self.close()
            raise WorkerGone(True, None)
        line = self.proc.stdout.readline().decode(errors="replace").strip()
        if line != str(n):
            self.close()
            raise WorkerGone(False, self.proc.poll())
        try:
            return json.loads(self.path(f"result_{n}.json").read_text())
        except (OSError, ValueError):
            self.close()
            raise WorkerGone(False, self.proc.poll()) from None

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        self._finalizer()


def _shut_down(proc: subprocess.Popen, group: PidsCgroup, work: Path) -> None:
    """Kill the process and anything it left in its cgroup, and remove its folder (also when a grader
    forgets to close, at garbage collection or exit)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        stream.close()
    group.__exit__(None, None, None)
    shutil.rmtree(work, ignore_errors=True)
