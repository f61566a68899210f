"""One sandboxed process per grading session that runs a notebook's definitions and answers call requests
(gradekit/provided/callworker.py on the other side). Starting Python, torch and the notebook's imports
costs seconds; graders make a dozen calls per student, so the process is started once and reused, and the
batch starts the next session's worker while one is graded (gradekit.grading.stage): it imports the
assignment's `preload`, waits, and is handed to the grading process, which gives it the definitions. A call
that hangs or kills the process costs only that call: the next one starts a fresh process.

Requests and results travel over the process's stdin and stdout as length-prefixed frames (JSON, then an
.npz of the arrays), never as files: the sandbox has no folder the trusted side writes into or reads from
(its code folder is read-only, its cwd a private tmpfs), so no link it plants can redirect a trusted
write. What comes back is untrusted: each frame is bounded before it is read and parsed without pickles."""
from __future__ import annotations

import hashlib
import json
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
from dataclasses import dataclass
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
HANDED_OVER = "GRADEKIT_CALL_WORKER"   # the environment entry that hands a ready worker to the grading process


class WorkerGone(Exception):
    """The process did not answer: it timed out (then it was killed) or it died."""

    def __init__(self, timed_out: bool, returncode: int | None):
        super().__init__("timed out" if timed_out else f"exit code {returncode}")
        self.timed_out, self.returncode = timed_out, returncode


class Garbled(Exception):
    """The worker answered something that is not a well-formed result (the student's code wrote into the
    protocol, or sent more than the bound): the call's failure, with the reason."""


@dataclass(frozen=True)
class WorkerKind:
    """What makes two call workers interchangeable: the student's run's data, limits (memory, processes),
    the kit's helpers and the course's files beside the code, and the modules imported before it waits."""

    data_root: Path
    limits: Limits
    manifest: str              # JSON: the datasets as the students' helper loads them
    course_files: str          # JSON: name -> text
    preload: tuple[str, ...] = ()

    @classmethod
    def of(cls, data_root: Path, manifest: dict, limits: Limits, course_files: dict[str, str] | None = None,
           preload: tuple[str, ...] = ()) -> "WorkerKind":
        return cls(Path(data_root), limits, json.dumps(manifest, sort_keys=True),
                   json.dumps(course_files or {}, sort_keys=True), tuple(preload))

    def key(self) -> str:
        return hashlib.sha256(repr(self).encode()).hexdigest()


class SandboxedWorker:
    def __init__(self, kind: WorkerKind):
        """Started in its sandbox, the kind's modules imported; it waits for load(). The limits are the
        memory and processes of the student's own run; the course's files are as the run had them."""
        self.kind, self.requests = kind, 0
        self.home = Path(tempfile.mkdtemp(prefix="gk-call-"))
        code = self.home / "code"
        code.mkdir()
        for name in FILES:
            shutil.copyfile(PROVIDED / name, code / name)
        provided.write(code, json.loads(kind.manifest))  # the notebook's imports of the kit's helpers must resolve
        for name, text in json.loads(kind.course_files).items():
            (code / name).write_text(text)
        self.home.chmod(0o711)   # the sandbox account passes through to its read-only code folder
        code.chmod(0o755)
        limits = kind.limits
        confinement = sandbox.Confinement(workdir=code, readable=(kind.data_root,), memory_mb=limits.memory_mb,
                                          processes=limits.processes, cwd_writable=False)
        self.group = RunCgroup(confinement.processes, confinement.memory_mb).open()
        command = confinement.wrap([sys.executable, str(code / "callworker.py"), *kind.preload],
                                   memory_cgroup=self.group.memory_enforced)
        self.proc = sandbox.start(self.group.enter(command), cwd=code, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        self._finalizer = weakref.finalize(self, _shut_down, self.proc, self.group, self.home)

    def load(self, definitions: str) -> None:
        """Give it the notebook's definitions: written into its code folder, then the go (one frame)."""
        (self.home / "code" / "definitions.py").write_text(definitions)
        try:
            self.proc.stdin.write(_FRAME.pack(2) + b"{}")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass   # the first request finds it gone and says so

    @property
    def loaded(self) -> bool:
        return (self.home / "code" / "definitions.py").exists()

    # handing a ready worker to the grading process (gradekit.grading.stage): its pipes become fds 3 and 4
    def handover(self) -> tuple[dict[str, str], tuple[int, int]]:
        """The environment entry and the file descriptors that give this worker to a forked grading process."""
        note = {"pid": self.proc.pid, "home": str(self.home), "key": self.kind.key(), "fds": [3, 4]}
        return {HANDED_OVER: json.dumps(note)}, (self.proc.stdin.fileno(), self.proc.stdout.fileno())

    @classmethod
    def handed_over(cls, kind: WorkerKind) -> "SandboxedWorker | None":
        """In the grading process: the worker the batch made ready for it, if it is of this kind (once)."""
        found = os.environ.pop(HANDED_OVER, "")
        if not found:
            return None
        note = json.loads(found)
        if note.get("key") != kind.key():
            return None   # the batch discards it
        worker = cls.__new__(cls)
        worker.kind, worker.requests, worker.home, worker.group = kind, 0, Path(note["home"]), None
        worker.proc = _HandedOver(int(note["pid"]), note["fds"])
        worker._finalizer = weakref.finalize(worker, _let_go, worker.proc)
        return worker

    def ask(self, request: dict, arrays: bytes, timeout_s: float) -> tuple[dict, dict]:
        """Send one request (JSON + .npz bytes); return the worker's status and result arrays."""
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

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        self._finalizer()

    discard = close


class _HandedOver:
    """A worker process that the batch started (and will reap): its pipes, and its exit status, read from
    /proc while it waits as a zombie for the batch."""

    def __init__(self, pid: int, fds: list[int]):
        self.pid, self.returncode = pid, None
        self.stdin, self.stdout = os.fdopen(fds[0], "wb"), os.fdopen(fds[1], "rb")

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                self.returncode = -signal.SIGKILL   # already reaped: the batch ended it
                return self.returncode
            if fields[0] in ("Z", "X"):
                self.returncode = os.waitstatus_to_exitcode(int(fields[49]))   # field 52, exit_code
        return self.returncode

    def wait(self, timeout: float = 5) -> int | None:
        deadline = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.returncode


def _let_go(proc: _HandedOver) -> None:
    """Kill a handed-over worker and close its pipes; the batch removes its cgroup and folder."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for stream in (proc.stdin, proc.stdout):
        try:
            stream.close()
        except OSError:
            pass   # a write that could not be flushed: it was gone


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
