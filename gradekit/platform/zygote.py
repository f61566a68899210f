"""A long-lived trusted process that has already imported what the kit's child processes need, and forks a
fresh child for each of them: the runner that drives a notebook's kernel (papermill, nbformat, jupyter_client:
~1.7 s of imports on a 2-core machine, mostly jsonschema's format checkers) and the grading worker (pytest, the
grading plugin, torch) start in milliseconds instead of seconds.

Each child is what a fresh interpreter would have been, less the imports: its own process and session (a
signal to its group reaches it and what it starts), stdin/stdout/stderr as the caller passes them, the
caller's environment and folder, killed when the zygote dies. The zygote itself runs nobody's code: it
imports the modules it was given, forks, reaps, and reports each child's exit status to the caller that
asked for it. It exits when its creator goes (its stdin reaches end of file), and its children with it.

    zygote = Zygote.shared(("papermill", "gradekit.run.kernel"))
    child = zygote.spawn("gradekit.run.kernel:serve", [workdir], env, cwd, (r, w))
    child.pid; child.poll(); child.wait()
"""
from __future__ import annotations

import fcntl
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

_REQUEST_BYTES = 1 << 20


@dataclass
class Forked:
    """A child of the zygote, as the caller sees it (Popen's poll/wait/returncode, by the zygote's report)."""

    pid: int
    connection: socket.socket
    returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            ready, _, _ = select.select([self.connection], [], [], 0)
            if ready:
                self._read_status()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        if self.returncode is None:
            ready, _, _ = select.select([self.connection], [], [], timeout)
            if ready:
                self._read_status()
        return self.returncode

    def _read_status(self) -> None:
        data = self.connection.recv(64)
        self.connection.close()
        try:
            self.returncode = int(json.loads(data)["status"])
        except (ValueError, KeyError, TypeError):   # the zygote died: its children died with it
            self.returncode = -signal.SIGKILL


class Zygote:
    """The client side: starts the server once, asks it for children."""

    _shared: dict[tuple[str, ...], "Zygote"] = {}
    _lock = threading.Lock()

    def __init__(self, preload: tuple[str, ...]):
        self.folder = Path(tempfile.mkdtemp(prefix="gk-zygote-"))   # 0700: only this user may ask it
        self.address = str(self.folder / "socket")
        # its stdin is a pipe only this process holds: end of file there means the creator is gone
        self.process = subprocess.Popen([sys.executable, "-m", "gradekit.platform.zygote", self.address, *preload],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd="/",
                                        env={**os.environ, "PYTHONPATH": _kit_path()})
        line = self.process.stdout.readline()   # "ready" once the imports are done
        if line.strip() != b"ready":
            raise OSError(f"the zygote did not start (preload {', '.join(preload)}): {line[:300]!r}")

    @classmethod
    def shared(cls, preload: tuple[str, ...]) -> "Zygote":
        """This process's zygote for `preload`, started on first use (and again if it died)."""
        with cls._lock:
            zygote = cls._shared.get(preload)
            if zygote is None or zygote.process.poll() is not None:
                zygote = cls._shared[preload] = cls(preload)
            return zygote

    def spawn(self, target: str, argv: list[str], env: dict[str, str], cwd: Path, fds: tuple[int, ...]) -> Forked:
        """Fork a child that calls `target` ("module:function") with `argv`. `fds`: its stdin, its stdout (and
        stderr), then any descriptors it gets as 3, 4, ..."""
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(self.address)
        request = json.dumps({"target": target, "argv": argv, "env": env, "cwd": str(cwd)}).encode()
        socket.send_fds(connection, [request], list(fds))
        reply = _read_line(connection)
        try:
            return Forked(int(json.loads(reply)["pid"]), connection)
        except (ValueError, KeyError, TypeError):
            connection.close()
            raise OSError(f"the zygote did not start the child: {reply[:300]!r}") from None


def _kit_path() -> str:
    return str(Path(__file__).resolve().parents[2])


def _read_line(connection: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


# the server -------------------------------------------------------------------------------------------

def _child(request: dict, fds: list[int], inherited: list) -> None:
    """In the forked child: become what a fresh interpreter started by the caller would be, then run."""
    code = 1
    try:
        for other in inherited:   # the server's sockets and pipes, other children's connections
            other.close() if isinstance(other, socket.socket) else os.close(other)
        os.setsid()
        _die_with_parent()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        # above every number in use first, so that no descriptor is overwritten before it is moved
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 256) for fd in fds]
        for fd in fds:
            os.close(fd)
        for target, fd in zip([0, 1, *range(3, len(high) + 1)], high):   # stdin, stdout, then the kept ones
            os.dup2(fd, target)
        os.dup2(high[1], 2)
        for fd in high:
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        module, function = request["target"].split(":")
        sys.argv = [request["target"], *request["argv"]]
        code = getattr(importlib.import_module(module), function)(*request["argv"]) or 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def _die_with_parent() -> None:
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def serve(address: str, preload: list[str]) -> None:
    for name in preload:
        importlib.import_module(name)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    waiting: dict[int, socket.socket] = {}
    server = [listener, wake_read, wake_write]
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        readable, _, _ = select.select([listener, sys.stdin, wake_read], [], [])
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 1):
            os._exit(0)   # the creator is gone; the children die with this process
        if wake_read in readable:
            os.read(wake_read, 4096)
            _reap(waiting)
        if listener in readable:
            _accept(listener, waiting, server)


def _accept(listener: socket.socket, waiting: dict[int, socket.socket], server: list) -> None:
    connection, _ = listener.accept()
    try:
        message, fds, _, _ = socket.recv_fds(connection, _REQUEST_BYTES, 8)
        request = json.loads(message)
    except (OSError, ValueError) as exc:
        connection.sendall(json.dumps({"error": str(exc)}).encode() + b"\n")
        connection.close()
        return
    pid = os.fork()
    if pid == 0:
        _child(request, fds, [*server, connection, *waiting.values()])
    for fd in fds:
        os.close(fd)
    connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    waiting[pid] = connection
    _reap(waiting)


def _reap(waiting: dict[int, socket.socket]) -> None:
    while waiting:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = waiting.pop(pid, None)
        if connection is not None:
            try:
                connection.sendall(json.dumps({"status": os.waitstatus_to_exitcode(status)}).encode())
            except OSError:
                pass
            connection.close()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
