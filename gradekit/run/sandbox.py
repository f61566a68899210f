"""Confine untrusted code with bubblewrap, or say loudly that it is not confined.

Inside a sandbox: the system and Python read-only, the data read-only, only the folders named as
writable, its own /tmp, no network, no view of other processes, resource limits from prlimit. Nothing
of the course repository (grader_tests/, solutions/, source/, other students, marks) is mounted.
Without bubblewrap the command runs as a plain subprocess (still with the limits) and callers record
NO_SANDBOX_WARNING in the run log and the mark sheet.
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

NO_SANDBOX_WARNING = "NOT SANDBOXED: bubblewrap (bwrap) is missing; the submission ran as a plain subprocess"


@dataclass(frozen=True)
class Confinement:
    """What one sandbox may see and use."""

    workdir: Path                      # cwd, writable
    writable: tuple[Path, ...] = ()    # further writable folders (OUTPUT_DIR, kernel sockets)
    readable: tuple[Path, ...] = ()    # read-only folders (DATA_ROOT)
    memory_mb: int = 8192
    processes: int = 256
    file_mb: int = 1024
    gpu: bool = False
    threads: int = os.cpu_count() or 1  # parallel jobs share the cores instead of oversubscribing them

    def env(self) -> dict[str, str]:
        env = {"PATH": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin", "HOME": str(self.workdir / ".home"),
               "TMPDIR": "/tmp", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/mpl", "PYTHONDONTWRITEBYTECODE": "1",
               "LANG": "C.UTF-8", "OMP_NUM_THREADS": str(self.threads), "MKL_NUM_THREADS": str(self.threads)}
        if self.gpu:   # the worker's own device (a cluster gives each worker its GPU) and the driver's libraries
            env |= {k: os.environ[k] for k in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH") if k in os.environ}
        return env

    def wrap(self, cmd: list[str]) -> list[str]:
        """The full command line: limits, then (if available) bubblewrap, then `cmd`."""
        (self.workdir / ".home").mkdir(exist_ok=True)
        # address space caps memory on the CPU (CUDA maps far more than it uses: no cap with a GPU);
        # the process count is capped by gradekit.run.limits.PidsCgroup, since RLIMIT_NPROC does not bind root
        memory = [] if self.gpu else [f"--as={self.memory_mb << 20}"]
        limits = [shutil.which("prlimit") or "prlimit", *memory, f"--fsize={self.file_mb << 20}", "--core=0", "--"]
        bwrap = bwrap_path()
        if bwrap is None:
            return [*limits, *cmd]
        return [*limits, bwrap, *self._bwrap_args(), "--", *cmd]

    def _bwrap_args(self) -> list[str]:
        # an unprivileged user in a user namespace of its own, no capabilities; files of the runner's
        # user in the bound folders appear as its own, so the work and output folders stay writable
        args = ["--unshare-all", "--unshare-user", "--uid", "1000", "--gid", "1000", "--cap-drop", "ALL",
                "--die-with-parent", "--new-session", "--clearenv",
                "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run"]
        for key, value in self.env().items():
            args += ["--setenv", key, value]
        for system in ("/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc"):
            if os.path.exists(system):
                args += ["--ro-bind", system, system]
        for path in _python_roots():
            args += ["--ro-bind", path, path]
        for path in self.readable:
            args += ["--ro-bind", str(path), str(path)]
        if self.gpu:
            for dev in glob.glob("/dev/nvidia*"):
                args += ["--dev-bind", dev, dev]
        for path in (self.workdir, *self.writable):
            args += ["--bind", str(path), str(path)]
        return [*args, "--chdir", str(self.workdir)]


def bwrap_path() -> str | None:
    if os.environ.get("GRADEKIT_NO_BWRAP") == "1":
        return None
    return shutil.which("bwrap")


def _python_roots() -> list[str]:
    """The interpreter and its packages. A venv inside the repository is mounted alone, never the
    repository around it."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths |= {sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")}
    return sorted({os.path.realpath(p) for p in paths if os.path.exists(p)})


@dataclass
class Completed:
    returncode: int | None      # None when killed at the wall-time limit
    timed_out: bool
    output: str                 # combined stdout/stderr, cut to the limit


def _die_with_parent() -> None:
    """In the child: SIGKILL when the parent dies, so a killed batch leaves no run behind (bubblewrap's
    --die-with-parent then takes the sandbox down with it)."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def run(cmd: list[str], timeout_s: float, *, cwd: Path, env: dict[str, str] | None = None,
        output_limit: int = 1 << 20) -> Completed:
    """Run a (possibly wrapped) command in its own process group; kill the group at the deadline."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        timed_out = True
    text = out.decode("utf-8", "replace")
    if len(text) > output_limit:
        text = text[: output_limit // 2] + "\n[... output cut ...]\n" + text[-output_limit // 2:]
    return Completed(None if timed_out else proc.returncode, timed_out, text)
