"""The `gradekit` command: one small function per command. The library raises typed errors
(gradekit.errors); only here do they become a one-line message on stderr and an exit code."""
from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from gradekit.course import PROFILES, Course, default_data_root
from gradekit.errors import GradekitError, NotReady
from gradekit.platform.untrusted import for_terminal

if TYPE_CHECKING:
    from gradekit.batch.settings import Settings


# ---- the parser ----------------------------------------------------------------------------------------

def _settings_args(p: argparse.ArgumentParser, profile: str | None = "smoke") -> None:
    p.add_argument("--profile", choices=PROFILES, default=profile,
                   help="smoke: minutes on a CPU; full: the real runs" + ("" if profile else
                        " (default: the profile each submission was run with, from its run.json)"))
    p.add_argument("--data-root", type=Path, default=None, help="datasets (default: $DATA_ROOT, else ./data)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--unsandboxed", action="store_true",
                   help="run student code without bubblewrap when it is missing (every report says NOT SANDBOXED)")


def _batch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jobs", "-j", type=int, default=1, help="submissions processed in parallel")
    p.add_argument("--cluster", default=None,
                   help="a Dask scheduler (tcp://host:8786), or local:N for N worker processes here (docs/cluster.md)")
    p.add_argument("--gpu-slots", type=int, default=0,
                   help="with --cluster local:N: GPU submissions each worker runs at once (its resource GPU=N)")


def _command(sub, name: str, help: str) -> argparse.ArgumentParser:
    """A command about one assignment: its name comes first."""
    p = sub.add_parser(name, help=help)
    p.add_argument("assignment")
    return p


def _authoring_parsers(sub) -> None:
    _command(sub, "new", "scaffold source/A and grader_tests/A: an example of every cell and grader kind")
    _command(sub, "check", "read source/A and grader_tests/A without running them; report problems and points")
    _command(sub, "release", "source/A -> release/A with nbgrader (solutions stripped)")
    p = _command(sub, "solve", "run and grade the instructor solution -> solutions/A/")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    p.add_argument("--variants", type=int, default=0, metavar="N",
                   help="also run the solution on N variants ([variants]): each must earn every point of its items")
    p.add_argument("--jobs", "-j", type=int, default=1, help="--variants: variants run in parallel")
    _settings_args(p)
    p = _command(sub, "try", "run and grade one notebook exactly as the batch would; print what the sheet would say")
    p.add_argument("notebook", type=Path, help="the notebook (files the assignment's hand_in names are taken from beside it)")
    p.add_argument("--student", default="try", help="the student id the run is made under (default: try)")
    p.add_argument("--keep", type=Path, default=None,
                   help="keep the run here (executed notebook, artifacts, run.json, grade.json); default: a temporary folder")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    _settings_args(p)


def _batch_parsers(sub) -> None:
    p = _command(sub, "run", "execute every submission in a sandbox -> autograded/")
    p.add_argument("--submitted", type=Path, default=None, help="submissions folder (default: submitted/)")
    p.add_argument("--students", nargs="*", default=None, metavar="STUDENT", help="only these students")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    p.add_argument("--force", action="store_true", help="re-run even unchanged submissions")
    _settings_args(p)
    _batch_args(p)
    p = _command(sub, "grade", "pytest graders on each run -> grade.json")
    who = p.add_argument_group("which students (default: every student with a run)")
    who.add_argument("--students", nargs="*", default=None, metavar="STUDENT", help="only these students")
    who.add_argument("--student", action="append", dest="students", metavar="STUDENT",
                     help="one student, e.g. to re-grade after fixing what needed attention (repeatable)")
    _settings_args(p, profile=None)
    _batch_args(p)


def _week_parsers(sub) -> None:
    p = _command(sub, "collect", "an LMS's submissions archive (or a folder) -> submitted/<student>/A/")
    p.add_argument("archive", type=Path, help="Moodle's or Canvas's 'download all submissions' zip, or a folder")
    p.add_argument("--lms", choices=("moodle", "canvas", "folder"), required=True)
    p.add_argument("--roster", type=Path, default=None, help="student,name,email[,canvas_id] (default: roster.csv of the course)")
    p.add_argument("--times", type=Path, default=None,
                   help="submission times: Moodle's grading worksheet, or a Canvas CSV of user_id,submitted_at")
    p.add_argument("--replace", action="store_true", help="replace a collected submission whose content differs")
    p.add_argument("--add-unknown", action="store_true", help="collect identities the roster does not know")
    _command(sub, "manual", "a page per manual item with every answer, and marks/A_manual.csv to fill in")
    p = _command(sub, "marks", "marks/A.csv and feedback/<student>/A.html (merges marks/A_manual.csv)")
    p.add_argument("--export", choices=("moodle", "canvas"), default=None, help="also write the LMS's grade upload file")
    p.add_argument("--worksheet", type=Path, default=None, help="--export moodle: the grading worksheet as downloaded")
    p.add_argument("--gradebook", type=Path, default=None, help="--export canvas: the gradebook export")
    p.add_argument("--column", default=None, help="--export canvas: the assignment's column, 'Title (id)'")
    p.add_argument("--roster", type=Path, default=None)
    p = _command(sub, "similarity", "marks/A_similarity.html and .csv: code submissions share beyond the release's")
    p.add_argument("--reference", action="append", default=[], metavar="NAME=DIR",
                   help="a reference corpus (*.ipynb under DIR: earlier years, published or LLM-written solutions); "
                        "compared with this year's submissions only (repeatable)")
    p.add_argument("--submitted", type=Path, default=None, help="submissions folder (default: submitted/)")
    p = _command(sub, "report", "marks/A_report.html: which items went badly, and the runs' outcomes")
    p.add_argument("--roster", type=Path, default=None)
    p = _command(sub, "variants", "store a variant for every student (roster and submitted/) -> marks/A_variants.csv")
    p.add_argument("--roster", type=Path, default=None)
    p.add_argument("--reroll", action="append", default=[], metavar="STUDENT",
                   help="give this student a new variant (their runs must be made again; repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradekit", description=__doc__)
    parser.add_argument("--course", type=Path, default=None, help="course repository (default: found from the cwd)")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_authoring_parsers, _batch_parsers, _week_parsers):
        add(sub)
    p = sub.add_parser("data", help="datasets under the data root")
    p.add_argument("action", choices=("fetch", "verify", "synth"))
    p.add_argument("datasets", nargs="*", help="dataset names (default: all, or those of --assignment)")
    p.add_argument("--assignment", default=None)
    p.add_argument("--from", dest="mirror", type=Path, default=None, help="fetch: copy from a local mirror instead of downloading")
    p.add_argument("--data-root", type=Path, default=None)
    p.add_argument("--seed", type=int, default=0, help="synth: the stand-in's seed")
    return parser


# ---- the commands --------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "new":   # also in a folder that is not a course yet
            return cmd_new(args)
        course = Course(args.course.resolve()) if args.course else Course.find()
        if args.command == "data":
            return cmd_data(args, course)
        return COMMANDS[args.command](args, course.assignment(args.assignment))
    except GradekitError as exc:
        text = str(exc)
        print(text if isinstance(exc, NotReady) else f"gradekit {args.command}: {text}", file=sys.stderr)
        return exc.exit_code


def _data_root(args) -> Path:
    return (getattr(args, "data_root", None) or default_data_root()).resolve()


def ready_settings(args, assignment) -> "Settings":
    """The batch's settings, once the machine is ready for it (raises NotReady: nothing was run)."""
    from gradekit.data import preflight
    settings = settings_from(args)
    preflight.require_ready(assignment.catalog(), settings.data_root, unsandboxed=settings.unsandboxed)
    return settings


def settings_from(args) -> "Settings":
    from gradekit.batch.settings import Settings
    return Settings(data_root=_data_root(args), profile=args.profile, seed=args.seed,
                    device=getattr(args, "device", "cpu"), unsandboxed=args.unsandboxed,
                    jobs=getattr(args, "jobs", 1), cluster=getattr(args, "cluster", None),
                    gpu_slots=getattr(args, "gpu_slots", 0))


def cmd_new(args) -> int:
    from gradekit.authoring.scaffold import course_root, create
    root = args.course.resolve() if args.course else course_root(Path.cwd().resolve())
    for path in create(root, args.assignment):
        print(f"wrote {path.relative_to(root)}")
    print(f"next: edit them, then `gradekit check {args.assignment}`, `gradekit solve {args.assignment}`, "
          f"`gradekit release {args.assignment}` (docs/authoring.md)")
    return 0


def _checked(assignment, command: str) -> bool:
    """`gradekit check`'s errors, printed; release and solve refuse on them."""
    from gradekit.authoring.check import check
    report = check(assignment, items=False)
    if report.errors or report.warnings:
        print(report.summary(points=False), file=sys.stderr)
    if report.errors:
        print(f"gradekit: {command} refused: `gradekit check {assignment.name}` found the errors above", file=sys.stderr)
    return not report.errors


def cmd_check(args, assignment) -> int:
    from gradekit.authoring.check import check
    report = check(assignment, items=True)
    print(report.summary(points=True))
    return 2 if report.errors else 0


def cmd_release(args, assignment) -> int:
    from gradekit.authoring.release import release
    if not _checked(assignment, "release"):
        return 2
    print(f"released {assignment.name} -> {release(assignment)}")
    return 0


def cmd_solve(args, assignment) -> int:
    from gradekit.authoring.solve import solve
    if not _checked(assignment, "solve"):
        return 2
    settings = ready_settings(args, assignment)
    with contextlib.redirect_stdout(sys.stderr):   # the batch's progress; stdout is the result, as JSON
        solved = solve(assignment, settings)
    result, complete = solved.to_dict(), solved.complete
    if args.variants and complete:
        result["variants"] = _solve_variants(args, assignment, settings)
        complete = all(v["total"] == v["max"] and not v["lost"] for v in result["variants"])
    print(json.dumps(result, indent=1))
    return 0 if complete else 1


def _solve_variants(args, assignment, settings) -> list[dict]:
    from gradekit.authoring.solve import solve_variants
    folder = assignment.course.solutions / f".{assignment.name}.variants"
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.redirect_stdout(sys.stderr):
        found = [v.to_dict() for v in solve_variants(assignment, settings, args.variants, folder)]
    full = sum(v["total"] == v["max"] and not v["lost"] for v in found)
    print(f"{full} of {len(found)} variants earn every point of their items", file=sys.stderr)
    return found


def cmd_try(args, assignment) -> int:
    from gradekit.authoring.trial import try_notebook
    settings = ready_settings(args, assignment)
    with contextlib.ExitStack() as stack:
        folder = args.keep.resolve() if args.keep else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gradekit-try-")))
        with contextlib.redirect_stdout(sys.stderr):   # the batch's progress; stdout is the result
            trial = try_notebook(assignment, settings, args.notebook.resolve(), folder, args.student)
        for line in trial.lines():
            print(for_terminal(line))
        if args.keep:
            print(f"the run: {trial.run_dir}")
    return 1 if trial.grade.attention else 0   # lost points are the answer, not a failure of the command


@contextlib.contextmanager
def _executor(settings):
    from gradekit.platform.executors import executor_for
    executor = executor_for(settings.cluster, settings.jobs, settings.gpu_slots)
    if executor.remote:
        print(executor.describe(), flush=True)
    try:
        yield executor
    finally:
        executor.close()


def cmd_run(args, assignment) -> int:
    from gradekit.batch.driver import drive
    from gradekit.run.stage import RunStage
    settings = ready_settings(args, assignment)
    with _executor(settings) as executor:
        folders = assignment.folders(args.submitted.resolve() if args.submitted else None)
        stage = RunStage(assignment, settings, folders, executor.width, args.force)
        results = drive(stage, args.students or stage.students(), executor)
    _summary([r.status for r in results.values()])
    unchanged = sum(r.skipped for r in results.values())
    if unchanged:
        print(f"{unchanged} unchanged since their last run, not run again (--force runs them)")
    return 0


def cmd_grade(args, assignment) -> int:
    from gradekit.batch.driver import drive
    from gradekit.grading.stage import GradeStage
    settings = ready_settings(args, assignment)
    course = assignment.course
    students = args.students or course.students(course.autograded, assignment.name)
    stage = GradeStage(assignment, settings, assignment.folders(), students)
    with _executor(settings) as executor:
        results = drive(stage, students, executor)
    _summary(["needs attention" if r.attention else "graded" for r in results.values()])
    return 0


def _roster_path(args, course: Course) -> Path | None:
    """--roster, else the course's roster.csv when there is one."""
    default = course.root / "roster.csv"
    return args.roster or (default if default.exists() else None)


def cmd_collect(args, assignment) -> int:
    from gradekit.errors import CollectRefused
    from gradekit.week.collect import CollectOptions, collect
    options = CollectOptions(args.lms, _roster_path(args, assignment.course), args.times, args.replace, args.add_unknown)
    try:
        summary = collect(assignment, args.archive.resolve(), assignment.course.submitted, options)
    except (CollectRefused, ValueError, OSError) as exc:
        print(f"gradekit collect: refused, nothing written: {exc}", file=sys.stderr)
        return 2
    print("\n".join(summary.lines()))
    return 0


def cmd_manual(args, assignment) -> int:
    from gradekit.week import manual
    course = assignment.course
    students = course.students(course.submitted, assignment.name)
    pages = manual.write_pages(assignment, students, course.marks / "manual" / assignment.name)
    added = manual.write_template(manual.path_for(course.marks, assignment.name), assignment, students)
    print(f"{len(pages)} pages: {course.marks / 'manual' / assignment.name}/<item>.html ({len(students)} students)\n"
          f"{manual.path_for(course.marks, assignment.name)}: {added} rows added (points empty = not marked yet)")
    return 0


def _sheet(args, assignment):
    """marks/A.csv written: a row for every run, every collected submission and every student of the roster."""
    from gradekit.lms.roster import Roster
    from gradekit.week.marks import sheet_students, write_marks
    course = assignment.course
    roster_path = _roster_path(args, course)
    roster = list(Roster.read(roster_path).students) if roster_path else []
    return write_marks(assignment, course.autograded, sheet_students(assignment, roster), course.marks, course.feedback)


def cmd_marks(args, assignment) -> int:
    from gradekit.week.marks import cost_line, sheet_table
    course = assignment.course
    sheet = _sheet(args, assignment)
    if args.export and _export(args, sheet, assignment):
        return 2
    if sheet.attention:  # first: these marks are not final
        n = len(sheet.attention)
        print(f"NEEDS ATTENTION: {n} student{'s have' if n != 1 else ' has'} items the graders could not check "
              "(their marks are not final; fix the cause, then `gradekit grade A --student S`):")
        for student, items in sorted(sheet.attention.items()):
            for what in items:
                print(for_terminal(f"  {student}: {what[:200]}"))
    for warning in sheet.warnings:
        print(for_terminal(f"warning: {warning}"))
    for line in sheet_table(sheet):
        print(for_terminal(line))
    print(f"mark sheet: {sheet.path}\nfeedback:   {course.feedback}/<student>/{assignment.name}.html")
    print(f"{cost_line(json.loads((course.marks / f'{assignment.name}_cost.json').read_text()))} "
          f"(marks/{assignment.name}_cost.json)")
    return 1 if sheet.attention else 0


def _export(args, sheet, assignment) -> bool:
    """The LMS's grade file and the zip of feedback its students receive; True when refused (printed)."""
    from gradekit.lms.roster import Roster
    from gradekit.week import deliver, upload
    course, name = assignment.course, assignment.name
    roster_path = _roster_path(args, course)
    roster = Roster.read(roster_path) if roster_path else None
    try:
        if args.export == "moodle":
            if not args.worksheet:
                raise ValueError("--export moodle needs --worksheet (Moodle: Grading action > Download grading worksheet)")
            done = upload.moodle(sheet, assignment, args.worksheet, roster, course.marks / f"{name}_moodle.csv")
            sent = deliver.moodle_zip(assignment, done.graded, course.marks / f"{name}_moodle_feedback.zip")
        else:
            if not args.gradebook:
                raise ValueError("--export canvas needs --gradebook (Canvas: Grades > Export > Export Entire Gradebook)")
            done = upload.canvas(sheet, assignment, args.gradebook, roster, course.marks / f"{name}_canvas.csv",
                                 args.column)
            sent = deliver.canvas_zip(assignment, sheet, assignment.feedback_policy(),
                                      course.marks / f"{name}_canvas_feedback.zip")
    except (ValueError, OSError) as exc:
        print(f"gradekit marks --export {args.export}: refused: {exc}", file=sys.stderr)
        return True
    print("\n".join(done.lines() + sent.lines()))
    upload_how = ("Moodle: Grading action > Upload multiple feedback files in a zip" if args.export == "moodle"
                  else "Canvas: the assignment's gradebook column > Re-upload Submissions")
    print(f"  ({upload_how})")
    return False


def cmd_report(args, assignment) -> int:
    from gradekit.week.report import write_report
    course, name = assignment.course, assignment.name
    sheet = _sheet(args, assignment)
    print(f"report: {write_report(assignment, sheet, course.marks / f'{name}_report.html', course.marks / f'{name}_distribution.png')}")
    return 0


def cmd_similarity(args, assignment) -> int:
    from gradekit.week.similarity_report import similarity
    references = {}
    for given in args.reference:
        name, _, folder = given.partition("=")
        if not folder or not Path(folder).is_dir():
            print(f"gradekit similarity: --reference {given!r}: give NAME=DIR with an existing folder", file=sys.stderr)
            return 2
        references[name] = Path(folder).resolve()
    if not (assignment.release_dir / assignment.notebook_name).is_file():
        print(f"warning: no release/{assignment.name}: the release's code cannot be removed (run `gradekit release "
              f"{assignment.name}` first)", file=sys.stderr)
    written = similarity(assignment, references, args.submitted.resolve() if args.submitted else None)
    print(f"{written.pairs} pairs share code; clusters: {len(written.clusters)}")
    for group in written.clusters:
        print(for_terminal(f"  {', '.join(group)}"))
    print(f"report: {written.html}\npairs:  {written.csv}  (evidence for a person to read, never a penalty by itself)")
    return 0


def cmd_data(args, course: Course) -> int:
    from gradekit.data.commands import act
    data_root = _data_root(args)
    catalog = course.assignment(args.assignment).catalog() if args.assignment else course.catalog()
    names = args.datasets or sorted(d.name for d in catalog if args.action != "synth" or d.standin)
    if args.action == "fetch":  # a course file is built from its inputs: those come first
        names = sorted(names, key=lambda n: bool(catalog.get(n).inputs))
    data_root.mkdir(parents=True, exist_ok=True)
    if args.action == "verify":   # one sandboxed probe reads them all
        from gradekit.data.commands import verify
        found = verify(catalog, names, data_root)
        for name, (ok, line) in found.items():
            print(f"{name}: {line}")
        return 0 if all(ok for ok, _ in found.values()) else 1
    failed = 0
    for name in names:
        try:
            ok, line = act(args.action, catalog, name, data_root, mirror=args.mirror, seed=args.seed)
            print(f"{name}: {line}")
            failed += not ok
        except (OSError, ValueError, RuntimeError, GradekitError) as exc:
            print(f"{name}: FAILED: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _summary(outcomes: list[str]) -> None:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    print(", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no submissions")


def cmd_variants(args, assignment) -> int:
    from gradekit.lms.roster import Roster
    from gradekit.week.variants import prepare, write_csv
    roster = _roster_path(args, assignment.course)
    students = sorted(set(Roster.read(roster).students if roster else ()) | set(assignment.folders().students()))
    book, changed = prepare(assignment, students, args.reroll)
    for v in changed:
        print(for_terminal(f"  {v.student}: seed {v.seed} (roll {v.roll}) {json.dumps(v.values, sort_keys=True)[:100]}"))
    path = write_csv(book, assignment.course.marks / f"{assignment.name}_variants.csv")
    print(f"{len(book.students)} students hold a variant ({len(changed)} new or re-rolled): {path}")
    return 0


COMMANDS = {"check": cmd_check, "release": cmd_release, "solve": cmd_solve, "try": cmd_try, "run": cmd_run, "grade": cmd_grade,
            "collect": cmd_collect, "manual": cmd_manual, "marks": cmd_marks, "report": cmd_report,
            "similarity": cmd_similarity, "variants": cmd_variants}

if __name__ == "__main__":
    sys.exit(main())
