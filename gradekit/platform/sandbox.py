"""Confine untrusted code with bubblewrap, or say loudly that it is not confined.

Inside a sandbox: the system and Python read-only, the data read-only, only the folders named as
writable, its own /tmp, no network, no view of other processes, resource limits from prlimit. Nothing
of the course repository (grader_tests/, solutions/, source/, other students, marks) is mounted.
Without bubblewrap the command runs as a plain subprocess (still with the limits) and callers record
NO_SANDBOX_WARNING in the run log and the mark sheet.
"""
from __future__ import annotations

import collections
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass
from pathlib import Path

NO_SANDBOX_WARNING = "NOT SANDBOXED: bubblewrap (bwrap) is missing; the submission ran as a plain subprocess"


SANDBOX_USER = "gradekit-sandbox"   # the host account sandboxes run as when the kit runs as root
NOBODY = 65534


def sandbox_ids() -> tuple[int, int] | None:
    """When the kit runs as root: the unprivileged host uid and gid a sandbox runs as (the account
    `scripts/setup.sh` creates, or `GRADEKIT_SANDBOX_USER`; nobody where neither exists). None otherwise:
    an unprivileged kit's sandbox runs as the kit's own user, mapped by bubblewrap."""
    if os.geteuid() != 0:
        return None
    try:
        account = pwd.getpwnam(os.environ.get("GRADEKIT_SANDBOX_USER", SANDBOX_USER))
        return account.pw_uid, account.pw_gid
    except KeyError:
        return NOBODY, NOBODY


@dataclass(frozen=True)
class Confinement:
    """What one sandbox may see and use."""

    workdir: Path                      # cwd (writable unless cwd_writable is False)
    writable: tuple[Path, ...] = ()    # further writable folders (OUTPUT_DIR, kernel sockets)
    readable: tuple[Path, ...] = ()    # read-only folders (DATA_ROOT)
    memory_mb: int = 8192
    processes: int = 256
    file_mb: int = 1024
    tmp_mb: int = 512                  # /tmp and /dev/shm, each: tmpfs, counted in memory_mb
    gpu: bool = False
    threads: int = os.cpu_count() or 1  # parallel jobs share the cores instead of oversubscribing them
    cwd_writable: bool = True

    @property
    def home(self) -> str:
        return str(self.workdir / ".home") if self.cwd_writable else "/tmp"

    def env(self) -> dict[str, str]:
        env = {"PATH": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin", "HOME": self.home,
               "TMPDIR": "/tmp", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/mpl", "PYTHONDONTWRITEBYTECODE": "1",
               "LANG": "C.UTF-8", "OMP_NUM_THREADS": str(self.threads), "MKL_NUM_THREADS": str(self.threads)}
        if self.gpu:   # the worker's own device (a cluster gives each worker its GPU) and the driver's libraries
            env |= {k: os.environ[k] for k in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH") if k in os.environ}
        return env

    def address_space_mb(self, memory_cgroup: bool) -> int:
        """The address-space cap. Without a memory cgroup the sandbox's tmpfs pages are not charged to the
        run, so they come out of memory_mb here: /tmp, /dev/shm and the process together stay within it."""
        if memory_cgroup:
            return self.memory_mb
        return max(256, self.memory_mb - 2 * self.tmp_mb)

    def wrap(self, cmd: list[str], memory_cgroup: bool = False) -> list[str]:
        """The full command line: an empty environment, limits, then (if available) bubblewrap, then `cmd`."""
        self.prepare()
        # address space caps memory on the CPU (CUDA maps far more than it uses: no cap with a GPU);
        # the process count is capped by gradekit.platform.cgroup.RunCgroup, since RLIMIT_NPROC does not bind root
        memory = [] if self.gpu else [f"--as={self.address_space_mb(memory_cgroup) << 20}"]
        limits = [shutil.which("prlimit") or "prlimit", *memory, f"--fsize={self.file_mb << 20}", "--core=0", "--"]
        # bubblewrap's own process (PID 1 of the sandbox, readable as /proc/1/environ) starts with nothing
        # of the kit's environment; the command gets only env()
        clean = ["/usr/bin/env", "-i"]
        bwrap = bwrap_path()
        if bwrap is None:
            return [*clean, *[f"{k}={v}" for k, v in self.env().items()], *limits, *cmd]
        ids = sandbox_ids()
        if ids is None:
            return [*clean, *limits, bwrap, *self._bwrap_args(), "--", *cmd]
        drop = ["/usr/bin/setpriv", f"--reuid={ids[0]}", f"--regid={ids[1]}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--no-new-privs", "--"]
        return [*clean, *limits, bwrap, *self._bwrap_args(privileged=True), "--", *drop, *cmd]

    def prepare(self) -> None:
        """The sandbox's writable folders belong to the account it runs as (when the kit is root)."""
        home = Path(self.home)
        if self.cwd_writable:
            home.mkdir(exist_ok=True)
        ids = sandbox_ids()
        if ids is None:
            return
        for top in (self.workdir, *self.writable) if self.cwd_writable else self.writable:
            for path in [top, *top.rglob("*")]:
                os.lchown(path, *ids)

    def _bwrap_args(self, privileged: bool = False) -> list[str]:
        if privileged:
            # bubblewrap as root mounts what the run needs (whatever the folders' owners), then setpriv drops
            # to the unprivileged sandbox account: the kernel is that host uid, with no capabilities
            args = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        else:
            # an unprivileged user in a user namespace of its own, no capabilities; files of the runner's
            # user in the bound folders appear as its own, so the work and output folders stay writable
            args = ["--unshare-all", "--unshare-user", "--uid", "1000", "--gid", "1000"]
        # privileged: setpriv needs the capabilities to drop to the sandbox account, then drops them all
        args += [] if privileged else ["--cap-drop", "ALL"]
        size = str(self.tmp_mb << 20)
        args += ["--die-with-parent", "--new-session", "--clearenv", "--proc", "/proc", "--dev", "/dev",
                 "--perms", "1777", "--size", size, "--tmpfs", "/tmp",
                 "--perms", "1777", "--size", size, "--tmpfs", "/dev/shm", "--tmpfs", "/run"]
        for key, value in self.env().items():
            args += ["--setenv", key, value]
        binds = [("--ro-bind", system) for system in ("/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc")
                 if os.path.exists(system)]
        binds += [("--ro-bind", path) for path in _python_roots()]
        binds += [("--ro-bind", str(path)) for path in self.readable]
        if self.gpu:
            binds += [("--dev-bind", dev) for dev in glob.glob("/dev/nvidia*")]
        binds += [("--bind" if self.cwd_writable else "--ro-bind", str(self.workdir))]
        binds += [("--bind", str(path)) for path in self.writable]
        # the folders above each mount point, made traversable (bubblewrap as root would make them 0700)
        above = {str(parent) for _, path in binds for parent in Path(path).parents if str(parent) not in ("/", "/tmp")}
        for folder in sorted(above, key=lambda p: (p.count("/"), p)):
            args += ["--perms", "0755", "--dir", folder]
        for flag, path in binds:
            args += [flag, path, path]
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
    output: str                 # combined stdout/stderr: its head and tail, within the limit
    limit_hit: str = ""         # "output", "disk" or "files" when a budget stopped the run; see Budget


@dataclass(frozen=True)
class Budget:
    """What a running command may leave behind, watched while it runs: bytes printed straight to its
    stdout/stderr (a kernel printing to sys.stdout.fileno() bypasses Jupyter's output messages), and the
    disk and file count of its writable folders. Past any of them the process group is killed."""

    output_bytes: int = 1 << 20
    folders: tuple[Path, ...] = ()
    disk_bytes: int = 0
    files: int = 0


def _usage(folders: tuple[Path, ...], stop_after: int) -> tuple[int, int]:
    """(bytes on disk, entries) below `folders`, links not followed; counting stops past `stop_after`."""
    used, count, stack = 0, 0, [str(f) for f in folders]
    while stack and count <= stop_after:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    count += 1
                    info = entry.stat(follow_symlinks=False)
                    used += info.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        except OSError:
            continue
    return used, count


def _die_with_parent() -> None:
    """In the child: SIGKILL when the parent dies, so a killed batch leaves no run behind (bubblewrap's
    --die-with-parent then takes the sandbox down with it)."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start(cmd: list[str], *, cwd: Path, **popen) -> subprocess.Popen:
    """Start a (possibly wrapped) command in its own process group, killed when this process dies."""
    return subprocess.Popen(cmd, cwd=cwd, start_new_session=True, preexec_fn=_die_with_parent, **popen)


def run(cmd: list[str], timeout_s: float, *, cwd: Path, env: dict[str, str] | None = None,
        budget: Budget = Budget()) -> Completed:
    """Run a (possibly wrapped) command in its own process group; kill the group at the deadline or when
    it passes its budget. Its output is read as it comes: the head and the tail are kept, never more."""
    proc = start(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return Supervised(proc, proc.stdout, budget).finish(timeout_s)


class Supervised:
    """A started process that leads its own process group (a Popen from start(), or a child of
    gradekit.platform.zygote), its output read as it comes from `stream` under the budget's output bound."""

    def __init__(self, process, stream, budget: Budget = Budget()):
        self.process, self.budget, self.hit = process, budget, []
        self.output = _Output(budget.output_bytes)
        self.reader = threading.Thread(target=self.output.read, args=(stream, lambda: self.stop("output")), daemon=True)
        self.reader.start()

    def stop(self, why: str) -> None:
        if not self.hit:
            self.hit.append(why)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def finish(self, timeout_s: float) -> Completed:
        """Wait for the process, killing its group at the deadline or past its disk or file budget."""
        timed_out = _watch(self.process, timeout_s, self.budget, self.stop)
        self.process.wait()
        self.reader.join(timeout=5)
        return Completed(None if timed_out else self.process.returncode, timed_out, self.output.text(),
                         self.hit[0] if self.hit else "")


class _Output:
    """A process's output as it comes: the first and the last half of the budget are kept, never more."""

    def __init__(self, budget_bytes: int):
        self.budget, self.half = budget_bytes, budget_bytes // 2
        self.head, self.tail, self.total = bytearray(), collections.deque(), 0

    def read(self, stream, over_budget) -> None:
        kept = 0
        for chunk in iter(lambda: stream.read1(65536), b""):
            self.total += len(chunk)
            if len(self.head) < self.half:
                self.head.extend(chunk[: self.half - len(self.head)])
            self.tail.append(chunk)
            kept += len(chunk)
            while kept - len(self.tail[0]) > self.half:
                kept -= len(self.tail.popleft())
            if self.total > self.budget:
                over_budget()

    def text(self) -> str:
        text = self.head.decode("utf-8", "replace")
        if self.total > len(self.head):   # the tail, less what the head already holds
            last = b"".join(self.tail)
            rest = last[max(0, len(self.head) + len(last) - self.total):]
            cut = "\n[... output cut ...]\n" if self.total > len(self.head) + len(rest) else ""
            text += cut + rest.decode("utf-8", "replace")
        return text


def _watch(proc, timeout_s: float, budget: Budget, stop) -> bool:
    """Wait for the process, stopping it at the deadline (True) or past the disk or file budget; the
    budget is looked at every quarter second, the end is seen at once."""
    deadline = time.monotonic() + timeout_s
    while proc.poll() is None:
        if time.monotonic() > deadline:
            stop("")
            return True
        if budget.folders:
            used, count = _usage(budget.folders, budget.files)
            if budget.disk_bytes and used > budget.disk_bytes:
                stop("disk")
            elif budget.files and count > budget.files:
                stop("files")
        try:
            proc.wait(timeout=min(0.25, max(0.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            pass
    return False
