"""One sandboxed process per grading session that runs a notebook's definitions and answers call requests
(gradekit/provided/callworker.py on the other side). Starting Python, torch and the notebook's imports
costs seconds; graders make a dozen calls per student, so the process is started once and reused. A call
that hangs or kills the process costs only that call: the next one starts a fresh process.

Requests and results travel over the process's stdin and stdout as length-prefixed frames (JSON, then an
.npz of the arrays), never as files: the sandbox has no folder the trusted side writes into or reads from
(its code folder is read-only, its cwd a private tmpfs), so no link it plants can redirect a trusted
write. What comes back is untrusted: each frame is bounded before it is read and parsed without pickles."""
from __future__ import annotations

import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path

from gradekit import provided
from gradekit.platform import sandbox
from gradekit.course.limits import Limits
from gradekit.platform.cgroup import RunCgroup
from gradekit.platform.untrusted import UntrustedData, load_json, load_npz

PROVIDED = Path(provided.__file__).resolve().parent
FILES = ("callworker.py", "graphfacts.py")
MAX_STATUS_BYTES = 4 << 20
MAX_RESULT_BYTES = 512 << 20
_FRAME = struct.Struct(">Q")


class WorkerGone(Exception):
    """The process did not answer: it timed out (then it was killed) or it died."""

    def __init__(self, timed_out: bool, returncode: int | None):
        super().__init__("timed out" if timed_out else f"exit code {returncode}")
        self.timed_out, self.returncode = timed_out, returncode


class Garbled(Exception):
    """The worker answered something that is not a well-formed result (the student's code wrote into the
    protocol, or sent more than the bound): the call's failure, with the reason."""


class SandboxedWorker:
    def __init__(self, definitions: str, data_root: Path, manifest: dict, limits: Limits = Limits(),
                 course_files: dict[str, str] | None = None):
        """`limits`: the memory and processes of the student's own run (their assignment's, for its profile);
        `course_files`: what the course puts beside the notebook (name -> text), as the run had it."""
        self.home = Path(tempfile.mkdtemp(prefix="gk-call-"))
        code = self.home / "code"
        code.mkdir()
        (code / "definitions.py").write_text(definitions)
        for name in FILES:
            shutil.copyfile(PROVIDED / name, code / name)
        provided.write(code, manifest)  # the notebook's imports of the kit's helpers must resolve
        for name, text in (course_files or {}).items():
            (code / name).write_text(text)
        self.home.chmod(0o711)   # the sandbox account passes through to its read-only code folder
        code.chmod(0o755)
        confinement = sandbox.Confinement(workdir=code, readable=(data_root,), memory_mb=limits.memory_mb,
                                          processes=limits.processes, cwd_writable=False)
        self.group = RunCgroup(confinement.processes, confinement.memory_mb).open()
        command = confinement.wrap([sys.executable, str(code / "callworker.py")],
                                   memory_cgroup=self.group.memory_enforced)
        self.proc = sandbox.start(self.group.enter(command), cwd=code, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        self.requests = 0
        self._finalizer = weakref.finalize(self, _shut_down, self.proc, self.group, self.home)

    def ask(self, request: dict, arrays: bytes, timeout_s: float) -> tuple[dict, dict]:
        """Send one request (JSON + .npz bytes); return the worker's status and result arrays."""
        import json

        try:
            for payload in (json.dumps(request).encode(), arrays):
                self.proc.stdin.write(_FRAME.pack(len(payload)) + payload)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerGone(False, self.proc.poll()) from None
        deadline = time.monotonic() + timeout_s
        try:
            status = load_json(self._frame(deadline, MAX_STATUS_BYTES), "the worker's answer")
            results = load_npz(self._frame(deadline, MAX_RESULT_BYTES), "the worker's results",
                               max_unpacked=MAX_RESULT_BYTES)
        except UntrustedData as exc:
            self.close()
            raise Garbled(str(exc)) from None
        if not isinstance(status, dict):
            self.close()
            raise Garbled("the worker's answer is not a record")
        return status, results

    def _frame(self, deadline: float, limit: int) -> bytes:
        header = self._read(_FRAME.size, deadline)
        (size,) = _FRAME.unpack(header)
        if size > limit:
            raise UntrustedData(f"the worker sent {size} bytes; at most {limit} are read")
        return self._read(size, deadline)

    def _read(self, n: int, deadline: float) -> bytes:
        data = bytearray()
        fd = self.proc.stdout.fileno()
        while len(data) < n:
            readable, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not readable:
                self.close()
                raise WorkerGone(True, None)
            chunk = os.read(fd, min(n - len(data), 1 << 20))
            if not chunk:
                self.close()
                raise WorkerGone(False, self.proc.poll())
            data += chunk
        return bytes(data)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        self._finalizer()


def _shut_down(proc: subprocess.Popen, group: RunCgroup, home: Path) -> None:
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
    group.close()
    shutil.rmtree(home, ignore_errors=True)
