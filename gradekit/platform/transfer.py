"""Folders to and from a cluster worker, as gzipped tar bytes. What a worker sends back is untrusted (the
student's code wrote into it): it is unpacked only when every member is a regular file or folder inside
the target and the whole stays within the output budget; otherwise nothing of it is published."""
from __future__ import annotations

import io
import shutil
import tarfile
import zlib
from pathlib import Path, PurePosixPath

from gradekit.platform import atomic


class TamperedResult(Exception):
    """A worker's result breaks the publish rules; nothing of it was published."""


def pack(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_symlink():
                continue
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    return buffer.getvalue()


class _Bounded(io.RawIOBase):
    """The gunzipped stream of `data`, refusing to give more than `limit` bytes: a result is bounded while
    it is decompressed, so a small archive of zeros cannot unpack into gigabytes."""

    def __init__(self, data: bytes, limit: int):
        self.inflate, self.data, self.limit, self.given = zlib.decompressobj(wbits=31), data, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        want = len(buffer)
        out = self.inflate.decompress(self.inflate.unconsumed_tail or self.data, want)
        self.data = b""
        if not out and not self.inflate.eof and self.inflate.unconsumed_tail:
            out = self.inflate.decompress(self.inflate.unconsumed_tail, want)
        self.given += len(out)
        if self.given > self.limit:
            raise TamperedResult(f"the result unpacks past the output budget of {self.limit >> 20} MB")
        buffer[:len(out)] = out
        return len(out)


def _members(data: bytes, budget_bytes: int, max_entries: int):
    """Every member of the gzipped tar, checked, read through the bounded stream (headers and contents)."""
    # tar headers and padding on top of the contents: 1 KB per member at most
    stream = io.BufferedReader(_Bounded(data, budget_bytes + 1024 * (max_entries + 2)))
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            total, count = 0, 0
            for member in tar:
                count += 1
                if count > max_entries:
                    raise TamperedResult(f"the result has more than {max_entries} entries")
                path = PurePosixPath(member.name)
                if path.is_absolute() or ".." in path.parts:
                    raise TamperedResult(f"{member.name!r} would land outside the student's folder")
                if not (member.isfile() or member.isdir()):
                    raise TamperedResult(f"{member.name!r} is a link or a device, not a file")
                total += member.size
                if total > budget_bytes:
                    raise TamperedResult(f"the result passes the output budget of {budget_bytes >> 20} MB")
                yield tar, member
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise TamperedResult(f"not a readable result archive ({exc})") from None


def unpack(data: bytes, dest: Path, budget_bytes: int, max_entries: int = 100_000) -> None:
    """Unpack into `dest` (created), after checking every member. Raises TamperedResult. The archive is
    read twice: once to check it all, once to write it (nothing is written from an archive that fails)."""
    if len(data) > budget_bytes + (1 << 20):
        raise TamperedResult(f"the result is {len(data) >> 20} MB packed, past the output budget")
    for _ in _members(data, budget_bytes, max_entries):
        pass
    dest.mkdir(parents=True)
    for tar, member in _members(data, budget_bytes, max_entries):
        tar.extract(member, dest, filter="data")


def publish(data: bytes, dest: Path, budget_bytes: int) -> None:
    """Unpack a worker's finished folder beside `dest`, then put it in place in one rename, as the local
    pool publishes its staging folder."""
    incoming = dest.with_name(f".{dest.name}.incoming")
    shutil.rmtree(incoming, ignore_errors=True)
    try:
        unpack(data, incoming, budget_bytes)
    except TamperedResult:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    atomic.replace_dir(incoming, dest)
