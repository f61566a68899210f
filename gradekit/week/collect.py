"""`gradekit collect`: an LMS's "download all submissions" archive (or a folder) -> submitted/<student>/<A>/.

Everything is read and checked before anything is written: an archive that is not one, an identity the
roster does not know, or a worksheet in another shape stops the collection with nothing changed. Per
student, the notebook is the one with the release's file name, else the only `.ipynb`; anything else is
listed as needing a choice, never guessed. Beside each submission, `<A>.source.json` says where it came
from (archive and its sha256, entries, LMS identity, submission time when known).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from gradekit import provided
from gradekit.platform import atomic
from gradekit.course import Assignment
from gradekit.week.late import LatePolicy, assess, read_extensions
from gradekit.lms import canvas, moodle
from gradekit.lms.archive import NESTED_MAX_BYTES, ArchiveRefused, Entry, Refusal, read_folder, read_zip
from gradekit.lms.identity import Identity, Located, Reported, slug
from gradekit.lms.roster import Matcher, Roster
from gradekit.errors import CollectRefused

LMS = ("moodle", "canvas", "folder")
RECORD_SUFFIX = ".source.json"


@dataclass
class HandIn:
    identity: Identity
    entries: dict[str, Entry] = field(default_factory=dict)   # path inside the submission -> entry
    student: str | None = None
    notebook_from: str = ""     # the entry (inside a student's own zip, its inner path) taken as the notebook


@dataclass
class Summary:
    collected: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)              # differs from what is there; no --replace
    late: list[str] = field(default_factory=list)
    choice: dict[str, str] = field(default_factory=dict)       # student -> why a person must choose
    refused: list[str] = field(default_factory=list)           # entries refused, with why
    reported: list[str] = field(default_factory=list)          # entries not collected (text, groups, ...)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"collected {len(self.collected)}, unchanged {len(self.unchanged)}, replaced {len(self.replaced)}, "
               f"kept (differs; --replace to take it) {len(self.kept)}, late {len(self.late)}, "
               f"needing a choice {len(self.choice)}, refused {len(self.refused)}, reported {len(self.reported)}"]
        out += [f"  note: {n}" for n in self.notes]
        out += [f"  kept, differs: {s}" for s in self.kept]
        out += [f"  late: {s}" for s in self.late]
        out += [f"  needs a choice: {s}: {why}" for s, why in sorted(self.choice.items())]
        out += [f"  refused: {r}" for r in self.refused]
        out += [f"  reported: {r}" for r in self.reported]
        return out


def _read(source: Path) -> tuple[list[Entry], list[Refusal], str]:
    if source.is_dir():
        entries, refused = read_folder(source)
        return entries, refused, ""
    if not source.is_file():
        raise ArchiveRefused(f"{source}: no such file")
    entries, refused = read_zip(source, source.name)
    return entries, refused, hashlib.sha256(source.read_bytes()).hexdigest()


def _identify(entry: str, lms: str) -> Located | Reported:
    if lms == "moodle":
        return moodle.identify(entry)
    if lms == "canvas":
        return canvas.identify(entry)
    first, _, inside = entry.partition("/")
    if inside:
        return Located(Identity("folder", first, first), inside)
    if first.endswith(".ipynb"):
        return Located(Identity("folder", first.removesuffix(".ipynb"), first.removesuffix(".ipynb")), first)
    return Reported(entry, "a file at the top of the folder that is not <student>.ipynb")


@dataclass(frozen=True)
class CollectOptions:
    lms: str                        # moodle, canvas or folder
    roster: Path | None = None      # student,name,email[,canvas_id]
    times: Path | None = None       # Moodle's grading worksheet, or a Canvas CSV of user_id,submitted_at
    replace: bool = False           # replace a collected submission whose content differs
    add_unknown: bool = False       # collect identities the roster does not know


@dataclass(frozen=True)
class Provenance:
    """submitted/<student>/<A>.source.json: where a submission came from."""

    lms: str
    archive: str
    archive_sha256: str
    entries: list[str]
    identity: dict                  # lms, id, name, anonymous
    notebook_from: str
    lms_late_flag: bool
    submitted_at: str | None
    submitted_at_from: str | None
    collected_at: str

    @classmethod
    def load(cls, submitted: Path, student: str, assignment: str) -> "Provenance | None":
        data = source_record(submitted, student, assignment)
        if not isinstance(data, dict):
            return None
        names = cls.__dataclass_fields__
        return cls(**{k: data.get(k) for k in names})

    @property
    def submitted_at_time(self) -> datetime | None:
        return datetime.fromisoformat(self.submitted_at) if self.submitted_at else None


def collect(assignment: Assignment, source: Path, submitted: Path, options: CollectOptions) -> Summary:
    summary = Summary()
    lms, times = options.lms, options.times
    policy = assignment.late_policy()
    worksheet = moodle.Worksheet.read(times) if (times and lms == "moodle") else None
    canvas_times = canvas.read_times(times) if (times and lms == "canvas") else {}
    if times and lms == "folder":
        raise CollectRefused("--times is for Moodle's grading worksheet or a Canvas times CSV: a folder's file "
                             "times are not trusted")
    try:
        entries, refused, archive_sha = _read(source)
    except ArchiveRefused as exc:
        raise CollectRefused(str(exc)) from None
    summary.refused += [str(r) for r in refused]
    by_student = _match(_hand_ins(entries, lms, summary), options, worksheet, summary)
    extensions = read_extensions(assignment.course.root / "extensions" / f"{assignment.name}.csv", policy)
    wanted = _hand_in_names(assignment)
    for student, found in sorted(by_student.items()):
        if len(found) > 1:
            summary.choice[student] = "handed in under several LMS identities: " + ", ".join(h.identity.label for h in found)
            continue
        hand_in = found[0]
        files, why = _choose(hand_in, assignment.notebook_name, wanted, summary, lms)
        if files is None:
            summary.choice[student] = why
            continue
        submitted_at, time_source = _time(hand_in.identity, worksheet, canvas_times, policy)
        lateness = assess(policy, submitted_at, hand_in.identity.late, extensions.get(student))
        if lateness.late_by is not None or lateness.percent or lateness.zero:
            summary.late.append(f"{student}: {lateness.explanation}")
        identity = hand_in.identity
        record = Provenance(lms, str(source), archive_sha, sorted(e.name for e in hand_in.entries.values()),
                            {"lms": identity.lms, "id": identity.key, "name": identity.name,
                             "anonymous": identity.anonymous}, hand_in.notebook_from, identity.late,
                            submitted_at.isoformat() if submitted_at else None, time_source,
                            datetime.now(timezone.utc).isoformat(timespec="seconds"))
        _publish(submitted / student, assignment.name, files, record, options.replace, summary)
    return summary


def _hand_ins(entries: list[Entry], lms: str, summary: Summary) -> dict[Identity, HandIn]:
    """The archive's entries, grouped by the LMS identity that handed them in."""
    hand_ins: dict[Identity, HandIn] = {}
    for entry in entries:
        where = _identify(entry.name, lms)
        if isinstance(where, Reported):
            summary.reported.append(f"{where.entry!r}: {where.why}")
            continue
        key = Identity(where.identity.lms, where.identity.key, where.identity.name, where.identity.anonymous)
        hand_in = hand_ins.setdefault(key, HandIn(key))
        if where.identity.late:
            hand_in.identity = where.identity   # Canvas flags each file; one flag marks the hand-in
        hand_in.entries[where.path] = entry
    return hand_ins


def _match(hand_ins: dict[Identity, HandIn], options: CollectOptions, worksheet, summary: Summary) -> dict[str, list]:
    """student -> their hand-ins. Raises CollectRefused for identities the roster does not know."""
    matcher = Matcher(Roster.read(options.roster) if options.roster else None, worksheet)
    if options.roster is None and options.lms != "folder":
        summary.notes.append("no --roster: student ids are made from the LMS's names")
    unknown = []
    for hand_in in hand_ins.values():
        hand_in.student = matcher.student(hand_in.identity)
        if hand_in.student is None:
            if not options.add_unknown:
                unknown.append(hand_in.identity.label)
            else:
                hand_in.student = slug(hand_in.identity.name or hand_in.identity.key)
                summary.notes.append(f"{hand_in.identity.label} is not in the roster: collected as {hand_in.student}")
    if unknown:
        raise CollectRefused("identities not in the roster (add them to it, or pass --add-unknown):\n  "
                             + "\n  ".join(sorted(unknown)))
    by_student = defaultdict(list)
    for hand_in in hand_ins.values():
        by_student[hand_in.student].append(hand_in)
    return by_student


def _hand_in_names(assignment: Assignment) -> set[str]:
    """Besides the notebook, the files a student hands in: those the release holds and those the
    declaration lists (`hand_in = [...]`)."""
    names = set(assignment.hand_in())
    if assignment.release_dir.is_dir():
        names |= {p.name for p in assignment.release_dir.iterdir() if p.is_file() and p.suffix != ".ipynb"}
    return names - set(provided.HELPERS)   # the kit's helpers: the runner brings its own


def _expand_zips(hand_in: HandIn, summary: Summary) -> dict[str, Entry]:
    """A submission that is itself a zip (no notebook beside it) is opened under the same rules."""
    files = hand_in.entries
    if any(p.endswith(".ipynb") for p in files) or not any(p.lower().endswith(".zip") for p in files):
        return files
    opened: dict[str, Entry] = {}
    for path, entry in files.items():
        if not path.lower().endswith(".zip"):
            opened[path] = entry
            continue
        try:
            inner, refused = read_zip(entry.read(), f"{entry.name}", max_bytes=NESTED_MAX_BYTES)
        except ArchiveRefused as exc:
            summary.refused.append(f"{entry.name!r}: {exc}")
            continue
        summary.refused += [f"{entry.name!r} -> {r}" for r in refused]
        tops = {PurePosixPath(e.name).parts[0] for e in inner}
        strip = len(tops) == 1 and all(len(PurePosixPath(e.name).parts) > 1 for e in inner)
        for e in inner:
            opened[str(PurePosixPath(*PurePosixPath(e.name).parts[1:])) if strip else e.name] = e
    return opened


def _choose(hand_in: HandIn, notebook: str, wanted: set[str], summary: Summary, lms: str):
    files = _expand_zips(hand_in, summary)
    base = (lambda p: canvas.original_name(PurePosixPath(p).name)) if lms == "canvas" else (lambda p: PurePosixPath(p).name)
    notebooks = [p for p in files if p.endswith(".ipynb") and ".ipynb_checkpoints" not in p]
    named = [p for p in notebooks if base(p) == notebook]
    candidates = named or notebooks
    if len(candidates) != 1:
        listed = ", ".join(sorted(files)) or "no files"
        return None, (f"{len(candidates)} notebooks could be {notebook} ({', '.join(sorted(candidates))})" if candidates
                      else f"no notebook handed in (files: {listed})")
    chosen = {notebook: files[candidates[0]].read()}
    hand_in.notebook_from = files[candidates[0]].name
    for path, entry in files.items():
        if base(path) in wanted and base(path) not in chosen:
            chosen[base(path)] = entry.read()
    return chosen, ""


def _time(identity: Identity, worksheet, canvas_times: dict, policy: LatePolicy):
    if worksheet is not None:
        row = worksheet.by_participant().get(identity.key)
        text = row.get("Last modified (submission)", "") if row else ""
        moment = moodle.parse_time(text, policy.zone or timezone.utc)
        return moment, ("Moodle grading worksheet" if moment else None)
    if identity.key in canvas_times:
        return canvas_times[identity.key], "Canvas times CSV"
    return None, None


def _tree(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _publish(student_dir: Path, assignment: str, files: dict[str, bytes], record: Provenance, replace: bool,
             summary: Summary) -> None:
    dest, student = student_dir / assignment, student_dir.name
    existing = _tree(dest)
    if existing == files:
        summary.unchanged.append(student)
        before = Provenance.load(student_dir.parent, student, assignment)
        if record.submitted_at is None and before is not None and before.submitted_at:   # a later collect without --times
            record = dataclasses.replace(record, submitted_at=before.submitted_at,
                                         submitted_at_from=before.submitted_at_from)
    elif existing and not replace:
        summary.kept.append(student)
        return
    else:
        staged = student_dir / f".{assignment}.collecting"
        if staged.exists():
            shutil.rmtree(staged)
        for name, data in files.items():
            (staged / name).parent.mkdir(parents=True, exist_ok=True)
            (staged / name).write_bytes(data)
        atomic.replace_dir(staged, dest)
        (summary.replaced if existing else summary.collected).append(student)
    atomic.write_json(student_dir / f"{assignment}{RECORD_SUFFIX}", dataclasses.asdict(record))


def source_record(submitted: Path, student: str, assignment: str) -> dict | None:
    try:
        return json.loads((submitted / student / f"{assignment}{RECORD_SUFFIX}").read_text())
    except (OSError, ValueError):
        return None
