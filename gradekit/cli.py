"""The `gradekit` command."""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from gradekit.course import PROFILES, Course, default_data_root
from gradekit.data import preflight
from gradekit.data.catalog import Catalog, DeclarationError
from gradekit.data.preflight import Refused
from gradekit.errors import ProfileMismatch
from gradekit.manual import ManualMarksError
from gradekit.untrusted import for_terminal


def _common(p: argparse.ArgumentParser, jobs: bool = False, profile: str | None = "smoke") -> None:
    p.add_argument("--profile", choices=PROFILES, default=profile,
                   help="smoke: minutes on a CPU; full: the real runs" + ("" if profile else
                        " (default: the profile each submission was run with, from its run.json)"))
    p.add_argument("--data-root", type=Path, default=None, help="datasets (default: $DATA_ROOT, else ./data)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--unsandboxed", action="store_true",
                   help="run student code without bubblewrap when it is missing (every report says NOT SANDBOXED)")
    if jobs:
        p.add_argument("--jobs", "-j", type=int, default=1, help="submissions processed in parallel")
        p.add_argument("--cluster", default=None,
                       help="a Dask scheduler (tcp://host:8786), or local:N for N worker processes here (docs/cluster.md)")
        p.add_argument("--gpu-slots", type=int, default=0,
                       help="with --cluster local:N: GPU submissions each worker runs at once (its resource GPU=N)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradekit", description=__doc__)
    parser.add_argument("--course", type=Path, default=None, help="course repository (default: found from the cwd)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="source/A -> release/A with nbgrader (solutions stripped)")
    p.add_argument("assignment")

    p = sub.add_parser("new", help="scaffold source/A and grader_tests/A: an example of every cell and grader kind")
    p.add_argument("assignment")

    p = sub.add_parser("check", help="read source/A and grader_tests/A without running them; report problems and points")
    p.add_argument("assignment")

    p = sub.add_parser("run", help="execute every submission in a sandbox -> autograded/")
    p.add_argument("assignment")
    p.add_argument("--submitted", type=Path, default=None, help="submissions folder (default: submitted/)")
    p.add_argument("--students", nargs="*", default=None)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    p.add_argument("--force", action="store_true", help="re-run even unchanged submissions")
    _common(p, jobs=True)

    p = sub.add_parser("grade", help="pytest graders on each run -> grade.json")
    p.add_argument("assignment")
    p.add_argument("--students", nargs="*", default=None)
    p.add_argument("--student", action="append", dest="students", help="re-grade this student (repeatable)")
    _common(p, jobs=True, profile=None)

    p = sub.add_parser("collect", help="an LMS's submissions archive (or a folder) -> submitted/<student>/A/")
    p.add_argument("assignment")
    p.add_argument("archive", type=Path, help="Moodle's or Canvas's 'download all submissions' zip, or a folder")
    p.add_argument("--lms", choices=("moodle", "canvas", "folder"), required=True)
    p.add_argument("--roster", type=Path, default=None, help="student,name,email[,canvas_id] (default: roster.csv of the course)")
    p.add_argument("--times", type=Path, default=None,
                   help="submission times: Moodle's grading worksheet, or a Canvas CSV of user_id,submitted_at")
    p.add_argument("--replace", action="store_true", help="replace a collected submission whose content differs")
    p.add_argument("--add-unknown", action="store_true", help="collect identities the roster does not know")

    p = sub.add_parser("manual", help="a page per manual item with every answer, and marks/A_manual.csv to fill in")
    p.add_argument("assignment")

    p = sub.add_parser("marks", help="marks/A.csv and feedback/<student>/A.html (merges marks/A_manual.csv)")
    p.add_argument("assignment")
    p.add_argument("--export", choices=("moodle", "canvas"), default=None, help="also write the LMS's grade upload file")
    p.add_argument("--worksheet", type=Path, default=None, help="--export moodle: the grading worksheet as downloaded")
    p.add_argument("--gradebook", type=Path, default=None, help="--export canvas: the gradebook export")
    p.add_argument("--column", default=None, help="--export canvas: the assignment's column, 'Title (id)'")
    p.add_argument("--roster", type=Path, default=None)

    p = sub.add_parser("report", help="marks/A_report.html: which items went badly, and the runs' outcomes")
    p.add_argument("assignment")

    p = sub.add_parser("solve", help="run and grade the instructor solution -> solutions/A/")
    p.add_argument("assignment")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    _common(p)

    p = sub.add_parser("data", help="datasets under the data root")
    p.add_argument("action", choices=("fetch", "verify", "synth"))
    p.add_argument("datasets", nargs="*", help="dataset names (default: all, or those of --assignment)")
    p.add_argument("--assignment", default=None)
    p.add_argument("--from", dest="mirror", type=Path, default=None, help="fetch: copy from a local mirror instead of downloading")
    p.add_argument("--data-root", type=Path, default=None)
    p.add_argument("--seed", type=int, default=0, help="synth: the stand-in's seed")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    course = Course(args.course.resolve()) if args.course else None
    data_root = (getattr(args, "data_root", None) or default_data_root()).resolve()
    try:
        if args.command == "new":   # also in a folder that is not a course yet
            from gradekit.scaffold import course_root, create
            root = args.course.resolve() if args.course else course_root(Path.cwd().resolve())
            for path in create(root, args.assignment):
                print(f"wrote {path.relative_to(root)}")
            print(f"next: edit them, then `gradekit check {args.assignment}`, `gradekit solve {args.assignment}`, "
                  f"`gradekit release {args.assignment}` (docs/authoring.md)")
            return 0
        if args.command == "data":
            return _data(args, course or Course.find(), data_root)
        course = course or Course.find()
        return _command(args, course, course.assignment(args.assignment), data_root)
    except (DeclarationError, ManualMarksError, ProfileMismatch) as exc:
        print(f"gradekit: {exc}", file=sys.stderr)
        return 2
    except Refused as refusal:
        print(refusal, file=sys.stderr)
        return 2


def _command(args, course: Course, assignment, data_root: Path) -> int:
    if args.command in ("check", "release", "solve"):
        from gradekit.check import check
        counting = args.command == "check"   # release and solve need the errors, not pytest's item count
        report = check(assignment, items=counting)
        if counting or report.errors or report.warnings:
            print(report.summary(points=counting), file=sys.stdout if counting else sys.stderr)
        if report.errors:
            if args.command != "check":
                print(f"gradekit: {args.command} refused: `gradekit check {assignment.name}` found the errors above",
                      file=sys.stderr)
            return 2
        if args.command == "check":
            return 0
    if args.command in ("run", "grade", "solve"):
        preflight.require_ready(assignment.catalog(), data_root, unsandboxed=args.unsandboxed)
    if args.command == "release":
        from gradekit.release import release
        print(f"released {assignment.name} -> {release(assignment)}")
    elif args.command == "run":
        from gradekit.run.batch import run_all
        submitted = (args.submitted or course.submitted).resolve()
        with _executor(args) as executor:
            results = run_all(assignment, submitted, course.autograded, profile=args.profile, data_root=data_root,
                              seed=args.seed, device=args.device, jobs=args.jobs, students=args.students,
                              force=args.force, executor=executor, unsandboxed=args.unsandboxed)
        _summary([r.status for r in results.values()])
        unchanged = sum(r.skipped for r in results.values())
        if unchanged:
            print(f"{unchanged} unchanged since their last run, not run again (--force runs them)")
    elif args.command == "grade":
        from gradekit.grading.runner import grade_all
        students = args.students or course.students(course.autograded, assignment.name)
        with _executor(args) as executor:
            results = grade_all(assignment, course.autograded, students, data_root=data_root, profile=args.profile,
                                seed=args.seed, jobs=args.jobs, executor=executor, unsandboxed=args.unsandboxed)
        _summary(["needs attention" if r.attention else "graded" for r in results.values()])
    elif args.command == "collect":
        return _collect(args, course, assignment)
    elif args.command == "manual":
        from gradekit import manual
        students = course.students(course.submitted, assignment.name)
        pages = manual.write_pages(assignment, students, course.marks / "manual" / assignment.name)
        added = manual.write_template(manual.path_for(course.marks, assignment.name), assignment, students)
        print(f"{len(pages)} pages: {course.marks / 'manual' / assignment.name}/<item>.html ({len(students)} students)\n"
              f"{manual.path_for(course.marks, assignment.name)}: {added} rows added (points empty = not marked yet)")
    elif args.command == "marks":
        return _marks(args, course, assignment)
    elif args.command == "report":
        from gradekit.marks import write_marks
        from gradekit.report import write_report
        sheet = write_marks(assignment, course.autograded, course.students(course.autograded, assignment.name),
                            course.marks, course.feedback)
        print(f"report: {write_report(assignment, sheet, course.marks / f'{assignment.name}_report.html', course.marks / f'{assignment.name}_distribution.png')}")
    elif args.command == "solve":
        from gradekit.solve import solve
        result = solve(assignment, profile=args.profile, data_root=data_root, seed=args.seed, device=args.device)
        print(json.dumps(result, indent=1))
        return 0 if result["total"] == result["max"] and not result["needs_attention"] else 1
    return 0


@contextlib.contextmanager
def _executor(args):
    from gradekit.scale.executors import executor_for
    executor = executor_for(args.cluster, args.jobs, args.gpu_slots)
    if executor.remote:
        print(executor.describe(), flush=True)
    try:
        yield executor
    finally:
        executor.close()


def _roster_path(args, course: Course) -> Path | None:
    """--roster, else the course's roster.csv when there is one."""
    default = course.root / "roster.csv"
    return args.roster or (default if default.exists() else None)


def _roster(args, course: Course):
    from gradekit.lms.roster import Roster
    path = _roster_path(args, course)
    return Roster.read(path) if path else None


def _collect(args, course: Course, assignment) -> int:
    from gradekit.collect import CollectRefused, collect
    roster = _roster_path(args, course)
    try:
        summary = collect(assignment, args.archive.resolve(), args.lms, course.submitted, roster=roster,
                          times=args.times, replace=args.replace, add_unknown=args.add_unknown)
    except (CollectRefused, ValueError, OSError) as exc:
        print(f"gradekit collect: refused, nothing written: {exc}", file=sys.stderr)
        return 2
    print("\n".join(summary.lines()))
    return 0


def _marks(args, course: Course, assignment) -> int:
    from gradekit.marks import write_marks

    students = course.students(course.autograded, assignment.name)
    sheet = write_marks(assignment, course.autograded, students, course.marks, course.feedback)
    if args.export:
        from gradekit import upload
        try:
            if args.export == "moodle":
                if not args.worksheet:
                    raise ValueError("--export moodle needs --worksheet (Moodle: Grading action > Download grading worksheet)")
                done = upload.moodle(sheet, assignment, args.worksheet, _roster(args, course),
                                     course.marks / f"{assignment.name}_moodle.csv")
            else:
                if not args.gradebook:
                    raise ValueError("--export canvas needs --gradebook (Canvas: Grades > Export > Export Entire Gradebook)")
                done = upload.canvas(sheet, assignment, args.gradebook, _roster(args, course),
                                     course.marks / f"{assignment.name}_canvas.csv", args.column)
        except (ValueError, OSError) as exc:
            print(f"gradekit marks --export {args.export}: refused: {exc}", file=sys.stderr)
            return 2
        print("\n".join(done.lines()))
    if sheet.attention:  # first, before anything else: these marks are not final
        n = len(sheet.attention)
        print(f"NEEDS ATTENTION: {n} student{'s have' if n != 1 else ' has'} items the graders could not check "
              "(their marks are not final; fix the cause, then `gradekit grade A --student S`):")
        for student, items in sorted(sheet.attention.items()):
            for what in items:
                print(for_terminal(f"  {student}: {what[:200]}"))
    from gradekit.marks import cost_line
    print(f"mark sheet: {sheet.path}\nfeedback:   {course.feedback}/<student>/{assignment.name}.html")
    print(f"{cost_line(json.loads((course.marks / f'{assignment.name}_cost.json').read_text()))} "
          f"(marks/{assignment.name}_cost.json)")
    return 1 if sheet.attention else 0


def _data(args, course: Course, data_root: Path) -> int:
    from gradekit.data import store, synth

    catalog = course.assignment(args.assignment).catalog() if args.assignment else course.catalog()
    names = args.datasets or sorted(d.name for d in catalog if args.action != "synth" or d.standin)
    if args.action == "fetch":  # a course file is built from its inputs: those come first
        names = sorted(names, key=lambda n: bool(catalog.get(n).inputs))
    data_root.mkdir(parents=True, exist_ok=True)
    failed = 0
    for name in names:
        dataset = catalog.get(name)
        try:
            if args.action == "fetch":
                inputs = {n: catalog.get(n) for n in dataset.inputs}
                print(f"{name}: {store.fetch(dataset, data_root, args.mirror, inputs)}")
            elif args.action == "synth":
                written = synth.synth(dataset, data_root, args.seed)
                print(f"{name}: " + (f"stand-in written: {', '.join(written)}" if written else "real files present, nothing written"))
            else:
                ok, state = store.verify(dataset, data_root)
                if ok:  # and readable as the sandboxed run will read it
                    why = preflight.probe_readable(Catalog({name: dataset}), data_root).get(name)
                    ok, state = (False, f"{state}, but cannot be read as it is: {why}") if why else (True, state)
                print(f"{name}: {'ok' if ok else 'FAILED'} ({state})")
                failed += not ok
        except (OSError, ValueError, RuntimeError) as exc:
            print(f"{name}: FAILED: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _summary(outcomes: list[str]) -> None:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    print(", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no submissions")


if __name__ == "__main__":
    sys.exit(main())
