"""Things made ready before they are needed: while one is in use, the next one of the same kind is made in the
background, so that whoever comes next does not wait for it to start (gradekit.run.slots: a kernel in its
sandbox; gradekit.grading.stage: a call worker). Each thing serves once and is then discarded by its user.

Kept per kind; asking for a kind discards the ready things of every other kind, so a process never holds
more idle ones than it uses at once. What is left at exit is discarded."""
from __future__ import annotations

import atexit
import queue
import threading
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar


class Disposable(Protocol):
    def alive(self) -> bool: ...

    def discard(self) -> None: ...


K = TypeVar("K", bound=Hashable)
UNUSED_LIMIT = 3
T = TypeVar("T", bound=Disposable)


class ReadyPool(Generic[K, T]):
    def __init__(self, make: Callable[[K], T]):
        self.make = make
        self.lock = threading.Lock()
        self.ready: dict[K, list[T]] = {}
        self.running: dict[K, int] = {}
        self.making: dict[K, int] = {}
        self.used: set[K] = set()
        self.unused: dict[K, int] = {}
        self.unwanted: set[K] = set()
        self.wanted: queue.Queue[K] = queue.Queue()
        self.maker: threading.Thread | None = None
        atexit.register(self.discard_all)

    def take(self, kind: K) -> T | None:
        """A ready thing of this kind, or None; the next one is made ready in the background (unless the
        kind's things were found unwanted)."""
        with self.lock:
            for other in [k for k in self.ready if k != kind]:
                for thing in self.ready.pop(other):
                    _in_background(thing.discard)
            waiting = self.ready.setdefault(kind, [])
            found = None
            while waiting and found is None:
                candidate = waiting.pop(0)
                if candidate.alive():
                    found = candidate
                else:
                    _in_background(candidate.discard)
            self.running[kind] = self.running.get(kind, 0) + 1
        if kind not in self.unwanted:
            self._make_soon(kind)
        return found

    def _make_soon(self, kind: K) -> None:
        # one long-lived thread makes them all: a process started with PR_SET_PDEATHSIG (gradekit.platform.sandbox)
        # dies when the *thread* that started it ends, so a thread per thing would kill what it made
        with self.lock:
            if self.maker is None:
                self.maker = threading.Thread(target=self._make_forever, daemon=True, name="ready-pool")
                self.maker.start()
        self.wanted.put(kind)

    def _make_forever(self) -> None:
        while True:
            self._ahead(self.wanted.get())

    def done(self, kind: K, used: bool | None = True) -> None:
        """A taken one is done with (`used`: whether its user used it; None: nothing was handed over). A kind
        whose things were handed over and never used (UNUSED_LIMIT of them, none ever used) is made no more
        ahead: its users do not need them."""
        with self.lock:
            self.running[kind] = max(0, self.running.get(kind, 0) - 1)
            if used is None:
                return
            if used:
                self.used.add(kind)
                return
            self.unused[kind] = self.unused.get(kind, 0) + 1
            if kind not in self.used and self.unused[kind] >= UNUSED_LIMIT:
                self.unwanted.add(kind)
                for thing in self.ready.pop(kind, []):
                    _in_background(thing.discard)

    def _ahead(self, kind: K) -> None:
        """Make one ready, unless as many are ready (or being made) as things of this kind are in use."""
        with self.lock:
            if len(self.ready.get(kind, [])) + self.making.get(kind, 0) >= max(1, self.running.get(kind, 0)):
                return
            self.making[kind] = self.making.get(kind, 0) + 1
        try:
            thing = self.make(kind)
        except Exception:   # one made when it is needed reports the failure to its user
            return
        finally:
            with self.lock:
                self.making[kind] -= 1
        with self.lock:
            if kind in self.ready and kind not in self.unwanted:
                self.ready[kind].append(thing)
                return
        thing.discard()   # another kind took over meanwhile

    def discard_all(self) -> None:
        with self.lock:
            things = [thing for waiting in self.ready.values() for thing in waiting]
            self.ready.clear()
        for thing in things:
            thing.discard()


def _in_background(fn: Callable, *args) -> None:
    threading.Thread(target=fn, args=args, daemon=True).start()
