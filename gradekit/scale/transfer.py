"""Folders to and from a cluster worker, as gzipped tar bytes. What a worker sends back is untrusted (the
student's code wrote into it): it is unpacked only when every member is a regular file or folder inside
the target and the whole stays within the output budget; otherwise nothing of it is published."""
from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path, PurePosixPath

from gradekit import atomic


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


def unpack(data: bytes, dest: Path, budget_bytes: int) -> None:
    """Unpack into `dest` (created), after checking every member. Raises TamperedResult."""
    try:
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")
        members = tar.getmembers()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise TamperedResult(f"not a readable result archive ({exc})") from None
    total = 0
    for member in members:
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts:
            raise TamperedResult(f"{member.name!r} would land outside the student's folder")
        if not (member.isfile() or member.isdir()):
            raise TamperedResult(f"{member.name!r} is a link or a device, not a file")
        total += member.size
        if total > budget_bytes:
            raise TamperedResult(f"the result passes the output budget of {budget_bytes >> 20} MB")
    dest.mkdir(parents=True)
    tar.extractall(dest, filter="data")


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
