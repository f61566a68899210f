"""The seam: "run these calls somewhere, hand back their results as they finish".

LocalPool runs them in threads of this process (today's `--jobs N`). DaskExecutor submits each as one
Dask task to a scheduler (`--cluster tcp://host:8786`) or to a LocalCluster it starts (`--cluster
local:N`); a task whose worker died is retried by the scheduler up to `allowed-failures` times and then
comes back as Failed with the reason. A call's needs are Dask abstract resources, asked for when the
cluster's workers offer them: `GPU` (one per run on a GPU: a worker started with `--resources GPU=4` runs
four at a time) and `MEMORY` (the assignment's `memory_mb`: a worker with `--resources MEMORY=120000` runs
what fits in 120 GB)."""
from __future__ import annotations

import dataclasses
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

ALLOWED_FAILURES = 2   # a local cluster's retries of a task whose worker died
# A submission is one long task: Dask's statistical profiler (a stack sample every 10 ms) and frequent
# system monitoring only take CPU from the kernels beside them. docs/cluster.md sets the same for clusters.
LEAN_WORKERS = {"distributed.worker.profile.enabled": False, "distributed.admin.system-monitor.interval": "2s",
                "distributed.worker.memory.monitor-interval": "1s"}


@dataclass(frozen=True)
class Call:
    key: str                   # the student: shown while in flight, named when it fails
    fn: Callable
    args: tuple
    needs: tuple[tuple[str, float], ...] = ()   # abstract resources, e.g. (("GPU", 1), ("MEMORY", 12000))
    avoid: tuple[str, ...] = ()                 # workers whose result for this call was refused: not again


@dataclass(frozen=True)
class Failed:
    reason: str


@dataclass(frozen=True)
class Refused:
    """A worker could not take a call (its environment is not ready), or the client could not take what it
    sent back: not the student's fault."""
    worker: str
    reason: str


class LocalPool:
    remote = False
    same_machine = True

    def __init__(self, jobs: int):
        self.width = max(1, jobs)

    def results(self, calls: list[Call], in_flight: Callable[[set[str]], None]) -> Iterator[tuple[Call, object]]:
        running: set[str] = set()
        lock = threading.Lock()

        def work(call: Call):
            with lock:
                running.add(call.key)
                in_flight(set(running))
            try:
                return call.fn(*call.args)
            except Exception as exc:   # a bug or a full disk must not take the rest of the batch down
                return Failed(f"{type(exc).__name__}: {exc}")
            finally:
                with lock:
                    running.discard(call.key)

        with ThreadPoolExecutor(max_workers=self.width) as pool:
            futures = {pool.submit(work, call): call for call in calls}
            for future in as_completed(futures):
                yield futures[future], future.result()

    def close(self) -> None:
        pass


class DaskExecutor:
    remote = True

    def __init__(self, address: str, gpu_slots: int = 0):
        import dask
        from distributed import Client, LocalCluster

        self.cluster = None
        if address.startswith("local:"):
            workers = int(address.split(":", 1)[1])
            dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES, **LEAN_WORKERS})
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=max(1, gpu_slots), processes=True,
                                        resources={"GPU": gpu_slots} if gpu_slots else None,
                                        dashboard_address=":0", silence_logs=40)
            address = self.cluster.scheduler_address
        self.same_machine = self.cluster is not None   # the client knows the workers' cores
        self.client = Client(address)
        info = self.client.scheduler_info()
        self.workers = info.get("workers", {})
        self.width = sum(w.get("nthreads", 1) for w in self.workers.values()) or 1
        self.offered = {name for w in self.workers.values() for name in w.get("resources", {})}
        self.gpu_offered = "GPU" in self.offered
        dashboard = info.get("services", {}).get("dashboard")
        self.dashboard = self.client.dashboard_link if dashboard else None

    def describe(self) -> str:
        where = f"Dask at {self.client.scheduler.address}: {len(self.workers)} workers, {self.width} slots"
        return where + (f"; dashboard {self.dashboard}" if self.dashboard else "")

    def results(self, calls: list[Call], in_flight: Callable[[set[str]], None]) -> Iterator[tuple[Call, object]]:
        from distributed import as_completed as dask_completed

        by_key, futures = {}, []
        for call in calls:
            key = f"gradekit-{call.key}-{uuid.uuid4().hex[:8]}"
            by_key[key] = call
            # only what the workers offer: a resource no worker has would leave the task waiting forever
            resources = {name: amount for name, amount in call.needs if name in self.offered} or None
            where = {}
            if call.avoid:   # a worker whose result was refused: another one, where there is another
                others = [w for w in self.client.scheduler_info().get("workers", {}) if w not in call.avoid]
                where = {"workers": others, "allow_other_workers": False} if others else {}
            futures.append(self.client.submit(call.fn, *call.args, key=key, pure=False, resources=resources, **where))
        stop = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(by_key, in_flight, stop), daemon=True)
        watcher.start()
        try:
            for future in dask_completed(futures):
                call = by_key[future.key]
                try:
                    result = future.result()
                except Exception as exc:
                    result = Failed(_why(exc))
                future.release()
                yield call, result
        finally:
            stop.set()

    def _watch(self, by_key: dict, in_flight, stop: threading.Event) -> None:
        """The students whose runs are executing now, for the progress bar."""
        shown: set[str] = set()
        while not stop.wait(1.0):
            try:   # the workers' own view: a task queued on a worker for a free slot is not running yet
                executing = self.client.run(_executing)
            except Exception:
                return
            now = {by_key[k].key for keys in executing.values() for k in keys if k in by_key}
            if now != shown:
                shown = now
                in_flight(now)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _executing(dask_worker) -> list[str]:
    return [str(task.key) for task in dask_worker.state.executing]


def _why(exc: Exception) -> str:
    name = type(exc).__name__
    if name == "KilledWorker":
        return ("the workers running it died each time (killed, or out of memory) until the scheduler's "
                "allowed-failures were used up; it was not graded")
    return f"{name}: {exc}"


def show_in_flight(bar) -> Callable[[set[str]], None]:
    """The progress bar's callback: the students being processed now, after the counts."""
    from gradekit.platform.untrusted import for_terminal
    return lambda running: bar.set_postfix_str(for_terminal(", ".join(sorted(running))[:120]))


def results_retrying_refusals(executor, calls: list[Call], in_flight, take: Callable[[Call, object], object],
                              on_retry: Callable[[Call, Refused], None]) -> Iterator[tuple[Call, object]]:
    """(call, taken) for every call, where `taken = take(call, outcome)` is what the client made of the
    outcome, or a Refused when it could not take it (the worker was not ready, or what it sent back breaks
    the publish rules). A refused call runs once more on another worker; its second refusal comes back
    as it is, for the caller to report on the student's row."""
    again = []
    for call, outcome in executor.results(calls, in_flight):
        taken = take(call, outcome)
        if isinstance(taken, Refused) and executor.remote:
            on_retry(call, taken)
            again.append(dataclasses.replace(call, avoid=(*call.avoid, taken.worker)))
        else:
            yield call, taken
    for call, outcome in executor.results(again, in_flight) if again else ():
        yield call, take(call, outcome)


def executor_for(cluster: str | None, jobs: int, gpu_slots: int = 0):
    if not cluster:
        return LocalPool(jobs)
    return DaskExecutor(cluster, gpu_slots)


def worker_name() -> str:
    """The Dask worker this runs on (its address), or this process."""
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def worker_slots() -> int:
    """The submission slots of the Dask worker this runs on (its threads); 1 outside a worker."""
    try:
        from distributed import get_worker
        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 1
