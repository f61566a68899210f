"""Reading a submissions archive (a zip, or a folder) without trusting it.

Every entry is checked before anything is written: a path that escapes (`..`, absolute), a symlink or an
undecodable name is refused by name; an archive whose unpacked size or file count passes a limit is
refused whole. The bytes are read with a cap, so a zip whose headers lie about sizes cannot blow up."""
from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from gradekit.errors import ArchiveRefused

MAX_FILES = 20_000
MAX_BYTES = 4 << 30          # unpacked, the whole archive
NESTED_MAX_BYTES = 512 << 20  # a student's own zip inside it
_JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db")


@dataclass(frozen=True)
class Entry:
    name: str                 # a relative POSIX path, checked
    size: int
    _read: object             # () -> bytes

    def read(self) -> bytes:
        return self._read()


@dataclass(frozen=True)
class Refusal:
    entry: str
    why: str

    def __str__(self) -> str:
        return f"{self.entry!r}: {self.why}"


def _checked(name: str) -> str | None:
    """The entry's safe relative path, or None when it would land outside the target."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return None
    if any(part == ".." for part in path.parts):
        return None
    return str(path)


def _is_junk(name: str) -> bool:
    return name.startswith(_JUNK[0]) or "/__MACOSX/" in name or PurePosixPath(name).name in _JUNK[1:]


def read_zip(data: bytes | Path, label: str, *, max_files: int = MAX_FILES,
             max_bytes: int = MAX_BYTES) -> tuple[list[Entry], list[Refusal]]:
    """The archive's files and the entries refused. Raises ArchiveRefused for the archive as a whole."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveRefused(f"{label} is not a zip archive ({exc})") from None
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if not infos:
        raise ArchiveRefused(f"{label} is an empty archive: no files in it")
    if len(infos) > max_files:
        raise ArchiveRefused(f"{label} holds {len(infos)} files, more than the limit of {max_files}")
    total = sum(i.file_size for i in infos)
    if total > max_bytes:
        raise ArchiveRefused(f"{label} unpacks to {total >> 20} MB, more than the limit of {max_bytes >> 20} MB")
    entries, refused = [], []
    budget = [max_bytes]
    for info in infos:
        name = _decoded(info)
        if name is None:
            refused.append(Refusal(info.filename, "its name is not valid UTF-8 (undecodable)"))
            continue
        if _is_junk(name):
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            refused.append(Refusal(name, "a symbolic link"))
            continue
        safe = _checked(name)
        if safe is None:
            refused.append(Refusal(name, "its path leaves the archive (`..` or absolute)"))
            continue
        entries.append(Entry(safe, info.file_size, _capped_reader(archive, info, budget, label)))
    return entries, refused


def _decoded(info: zipfile.ZipInfo) -> str | None:
    if info.flag_bits & 0x800 or info.filename.isascii():
        return info.filename
    raw = info.filename.encode("cp437")   # zipfile decoded it as cp437; the LMSs write UTF-8
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _capped_reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: list[int], label: str):
    def read() -> bytes:
        with archive.open(info) as f:
            data = f.read(budget[0] + 1)
        budget[0] -= len(data)
        if budget[0] < 0:
            raise ArchiveRefused(f"{label}: {info.filename!r} unpacks past the archive's size limit")
        return data
    return read


def read_folder(root: Path, *, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES) -> tuple[list[Entry], list[Refusal]]:
    if not root.is_dir():
        raise ArchiveRefused(f"{root} is not a folder")
    entries, refused, total = [], [], 0
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            refused.append(Refusal(rel, "a symbolic link"))
            continue
        if not path.is_file() or _is_junk(rel):
            continue
        total += path.stat().st_size
        entries.append(Entry(rel, path.stat().st_size, path.read_bytes))
    if not entries and not refused:
        raise ArchiveRefused(f"{root} is empty: no files in it")
    if len(entries) > max_files or total > max_bytes:
        raise ArchiveRefused(f"{root}: {len(entries)} files, {total >> 20} MB: more than the limits "
                             f"({max_files} files, {max_bytes >> 20} MB)")
    return entries, refused
