"""Kernels made ready before the submissions that will use them.

A slot is one run's folders (gradekit.run.staging), its cgroup, and a runner forked from this process's
zygote (papermill already imported) that has started the kernel inside the slot's sandbox, the assignment's
heavy modules imported there, and waits. A submission takes a slot, is staged into it, and sends the runner
its spec: the deadline starts then. The kernel has run nobody's code before (only the kit's imports), and
it is discarded with its slot after the one run. While a submission runs, the next slot of the same kind is
made ready beside it, so the next submission does not wait for an interpreter, a sandbox or `import torch`.

Slots are kept per kind (the same confinement, data, limits and imports: one assignment's batch) in a
gradekit.platform.ready pool: a process never holds more idle kernels than it runs at once, and what is left
at exit is discarded (a killed batch's slots die with its zygote)."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from gradekit.course.limits import Limits
from gradekit.platform import sandbox
from gradekit.platform.cgroup import RunCgroup
from gradekit.platform.ready import ReadyPool
from gradekit.platform.zygote import Zygote
from gradekit.run.kernel import write_kernel_spec
from gradekit.run.staging import Staging

# what the runner needs, imported once in the zygote (papermill's imports alone take ~1.7 s)
RUNNER_IMPORTS = ("gradekit.run.kernel", "gradekit.run.tasked", "gradekit.run.cost", "papermill",
                  "jupyter_client.manager", "nbformat")


@dataclass(frozen=True)
class Kind:
    """What makes two runs' sandboxes interchangeable."""

    base: Path               # where its folders are made: where the runs are published
    data_root: Path
    limits: Limits
    gpu: bool
    threads: int
    preload: tuple[str, ...] = ()


class Slot:
    def __init__(self, kind: Kind):
        self.kind = kind
        self.staging = Staging.create_in(kind.base)
        self.confinement = sandbox.Confinement(
            workdir=self.staging.work, writable=(self.staging.artifacts, self.staging.sockets),
            readable=(kind.data_root,), memory_mb=kind.limits.memory_mb, processes=kind.limits.processes,
            file_mb=kind.limits.output_mb, tmp_mb=kind.limits.tmp_mb, gpu=kind.gpu, threads=kind.threads)
        self.group = RunCgroup(kind.limits.processes, kind.limits.memory_mb).open()
        self.process = self.control = None
        self.ahead = False   # made ready before its submission came (else started for it)
        try:
            self._start()
        except BaseException:
            self.discard()
            raise

    def _start(self) -> None:
        jupyter = self.staging.jupyter
        write_kernel_spec(jupyter, self.confinement, self.group, self.kind.preload)
        env = {**os.environ, "JUPYTER_PATH": str(jupyter), "JUPYTER_RUNTIME_DIR": str(self.staging.sockets),
               "JUPYTER_DATA_DIR": str(jupyter / "data"), "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
               "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        # the kernel's raw stdout/stderr reach us through the runner's: the output budget holds there, and the
        # work and output folders are watched against the disk and file-count budgets
        limits = self.kind.limits
        budget = sandbox.Budget(output_bytes=limits.output_mb << 20, folders=(self.staging.work, self.staging.artifacts),
                                disk_bytes=limits.disk_bytes, files=limits.files)
        control_read, self.control = os.pipe()
        output_read, output_write = os.pipe()
        try:
            self.process = Zygote.shared(RUNNER_IMPORTS).spawn(
                "gradekit.run.kernel:serve", [str(self.staging.work)], env, self.staging.root,
                (control_read, output_write))
        finally:
            os.close(control_read)
            os.close(output_write)
        self.supervised = sandbox.Supervised(self.process, open(output_read, "rb"), budget)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def go(self, spec_path: Path, timeout_s: float) -> tuple[sandbox.Completed, bool]:
        """Run the staged notebook (its spec at `spec_path`): how the runner ended, and whether the memory
        cap stopped something."""
        self.confinement.prepare()   # what was staged since belongs to the sandbox's account too
        try:
            os.write(self.control, f"{spec_path}\n".encode())
        except OSError:
            pass   # the runner is gone: finish() reports how it ended
        os.close(self.control)
        self.control = None
        done = self.supervised.finish(timeout_s)
        return done, self.group.out_of_memory()

    def end(self) -> None:
        """After the run: nothing of it may outlive it."""
        if self.control is not None:
            os.close(self.control)   # a runner still waiting shuts its kernel down and exits
            self.control = None
        if self.process is not None and self.process.poll() is None:
            if self.process.wait(timeout=5) is None:
                self.supervised.stop("")
                self.process.wait(timeout=5)
        self.group.close()

    def discard(self) -> None:
        """Never used: end it and remove its folders."""
        self.end()
        shutil.rmtree(self.staging.root, ignore_errors=True)
        shutil.rmtree(self.staging.sockets, ignore_errors=True)


SLOTS: ReadyPool[Kind, Slot] = ReadyPool(Slot)


def take(kind: Kind) -> Slot:
    """A ready slot of this kind, or one made now; the next one is made ready in the background."""
    ready = SLOTS.take(kind)
    if ready is not None:
        ready.ahead = True
        return ready
    return Slot(kind)
