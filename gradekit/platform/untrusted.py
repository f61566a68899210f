"""Reading what a student's run left, and showing what a student wrote, on the trusted side.

Everything that comes out of a run (artifacts, printed output, a call worker's or a cluster worker's
results) is data an attacker may have shaped. The rules, in one place:
- open without following a link (O_NOFOLLOW) and without blocking on a pipe (O_NONBLOCK), and read only
  a regular file, never more than a stated number of bytes;
- parse with parsers that cannot run code: JSON with a depth bound, npz without pickles, zip archives
  whose entry count and unpacked size are checked before anything is unpacked;
- neutralise it where a person reads it: control characters out of terminal lines, formula prefixes
  out of spreadsheet cells (HTML goes through jinja2's autoescaping, gradekit.week.pages).

Every refusal is an UntrustedData with a reason written for the student (it is their data that broke).
"""
from __future__ import annotations

import io
import json
import os
import re
import stat
import zipfile
from pathlib import Path

MAX_JSON_DEPTH = 64
MAX_NOTEBOOK_BYTES = 256 << 20   # an executed notebook the trusted side reads (outputs are bounded by the run)


class UntrustedData(ValueError):
    """A student's file or message that the trusted side refuses to read; the message says why."""


def read_bytes(path: Path, max_bytes: int, what: str | None = None) -> bytes:
    """The bytes of a regular file, never through a link or a pipe, at most `max_bytes`."""
    what = what or Path(path).name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:   # ELOOP: a link; ENXIO: a socket; others: unreadable
        raise UntrustedData(f"{what} is not a regular file ({os.strerror(exc.errno)})") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UntrustedData(f"{what} is not a regular file")
        if info.st_size > max_bytes:
            raise UntrustedData(f"{what} is {_mb(info.st_size)}; the graders read at most {_mb(max_bytes)}")
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:   # it grew while being read
        raise UntrustedData(f"{what} is larger than {_mb(max_bytes)}")
    return data


def load_json(data: bytes | str, what: str, max_depth: int = MAX_JSON_DEPTH):
    """JSON text -> Python values, refusing what nests deeper than `max_depth` (the parser's own recursion
    limit would otherwise raise RecursionError, which is no reason a student can act on)."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise UntrustedData(f"{what} nests deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise UntrustedData(f"{what} is not valid JSON: {str(exc)[:120]}") from None
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise UntrustedData(f"{what} nests deeper than {max_depth} levels")
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]
    return value


def read_json(path: Path, max_bytes: int, what: str | None = None, max_depth: int = MAX_JSON_DEPTH):
    what = what or Path(path).name
    return load_json(read_bytes(path, max_bytes, what), what, max_depth)


def open_zip(data: bytes, what: str, max_entries: int, max_unpacked: int) -> zipfile.ZipFile:
    """A zip archive whose entry count and declared unpacked size are within bounds (checked from its
    directory, before any member is unpacked; members are then read with the same bound)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise UntrustedData(f"{what} is not a readable archive ({str(exc)[:80]})") from None
    if len(entries) > max_entries:
        raise UntrustedData(f"{what} has {len(entries)} entries; at most {max_entries} are read")
    unpacked = sum(e.file_size for e in entries)
    if unpacked > max_unpacked:
        raise UntrustedData(f"{what} unpacks to {_mb(unpacked)}; at most {_mb(max_unpacked)} is read")
    return archive


def read_member(archive: zipfile.ZipFile, name: str, max_bytes: int, what: str) -> bytes:
    """One member, read with a bound that holds even if its declared size lied."""
    try:
        with archive.open(name) as f:
            data = f.read(max_bytes + 1)
    except (KeyError, zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as exc:
        raise UntrustedData(f"{what}: {name} cannot be read ({str(exc)[:80]})") from None
    if len(data) > max_bytes:
        raise UntrustedData(f"{what}: {name} is larger than its archive says")
    return data


def load_npz(data: bytes, what: str, max_entries: int = 256, max_unpacked: int = 1 << 30) -> dict:
    """name -> numpy array of numbers; no pickles, no object arrays, bounded before unpacking."""
    import numpy as np

    archive = open_zip(data, what, max_entries, max_unpacked)
    arrays = {}
    for entry in archive.infolist():
        raw = read_member(archive, entry.filename, entry.file_size, what)
        try:
            value = np.load(io.BytesIO(raw), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise UntrustedData(f"{what}: {entry.filename} is not a plain numeric array ({str(exc)[:80]})") from None
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
            raise UntrustedData(f"{what}: {entry.filename} holds {getattr(value, 'dtype', type(value).__name__)}, not numbers")
        arrays[entry.filename.removesuffix(".npy")] = value
    return arrays


# shown to a person ------------------------------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def for_terminal(text: str) -> str:
    """One line safe to print: no escape sequences, carriage returns or bidirectional overrides (a
    student's error message must not move the cursor or repaint another student's line)."""
    return _CONTROL.sub("?", str(text).replace("\n", " ").replace("\t", " "))


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def for_spreadsheet(value):
    """A CSV cell a spreadsheet will not run: text starting with = + - @ (or a tab or CR) gets a leading
    apostrophe, as OWASP advises. Numbers, also negative ones, stay numbers."""
    if not isinstance(value, str) or len(value) < 2 or not value.startswith(_FORMULA):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value


def from_spreadsheet(value: str) -> str:
    """The text for_spreadsheet protected, as it was (a student id that starts with '=' stays that id)."""
    if value.startswith("'") and value[1:].startswith(_FORMULA) and for_spreadsheet(value[1:]) == value:
        return value[1:]
    return value


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB"
