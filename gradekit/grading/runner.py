"""`gradekit grade`: one pytest process per student over grader_tests/<assignment>/ -> grade.json."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tqdm import tqdm

from gradekit.course import Assignment
from gradekit.errors import ProfileMismatch
from gradekit.records import GRADE_FILE, GradeReport, RunRecord
from gradekit.run.classify import SANDBOX_FAILED
from gradekit.scale.executors import Call, Failed, LocalPool, Refused, results_retrying_refusals, show_in_flight
from gradekit.untrusted import UntrustedData, for_terminal, load_json


def grade_one(assignment: Assignment, run_dir: Path, *, data_root: Path, profile: str, seed: int,
              timeout_s: float = 3600) -> GradeReport:
    report = run_dir / GRADE_FILE
    report.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pytest", str(assignment.grader_dir), "-p", "gradekit.grading.plugin",
           "-p", "no:cacheprovider", "--assert=plain", "-q", "--no-header", "-rN", "--tb=line",
           f"--rootdir={assignment.grader_dir}", f"--gk-run-dir={run_dir}", f"--gk-report={report}",
           f"--gk-data-root={data_root}", f"--gk-profile={profile}", f"--gk-seed={seed}",
           f"--gk-course={assignment.course.root}", f"--gk-assignment={assignment.name}"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd=assignment.grader_dir)
        output, code = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired:
        output, code = f"grading took longer than {timeout_s} s", None
    (run_dir / "grade.log").write_text(output)
    result = GradeReport.load(run_dir)
    if code not in (0, 1) or result is None:  # 0 all passed, 1 some failed; others: pytest itself broke
        result = GradeReport(profile=profile, grading_error=f"pytest exited {code}: {output[-800:]}")
        result.save(run_dir)
    return result


def graded_profiles(autograded: Path, assignment: str, students: list[str], asked: str | None) -> dict[str, str]:
    """student -> the profile to grade with: the one its run was made with (run.json). Raises
    ProfileMismatch, before anything is graded, when `asked` differs from a run's."""
    found = {}
    for student in students:
        run = RunRecord.load(autograded / student / assignment)
        found[student] = (run.profile if run is not None and run.profile else None) or asked or "smoke"
    wrong = sorted(s for s, p in found.items() if asked and p != asked)
    if wrong:
        raise ProfileMismatch(f"--profile {asked}: {', '.join(wrong[:5])}{' and more' if len(wrong) > 5 else ''} "
                              f"{'was' if len(wrong) == 1 else 'were'} run with profile {found[wrong[0]]}; grade "
                              f"without --profile (each run is graded with its own), or run again with --profile {asked}")
    return found


def grade_all(assignment: Assignment, autograded: Path, students: list[str], *, data_root: Path, profile: str | None,
              seed: int, jobs: int, executor=None, unsandboxed: bool = False) -> dict[str, GradeReport]:
    """`profile`: None grades each run with the profile it was made with; a profile refuses runs of another."""
    executor = executor or LocalPool(jobs)
    profiles = graded_profiles(autograded, assignment.name, students, profile)
    results, calls = {}, []
    for student in students:
        run_dir = autograded / student / assignment.name
        run, profile = RunRecord.load(run_dir), profiles[student]
        run_seed = run.seed if run is not None and run.input_sha256 else seed   # what the notebook ran with
        if run is not None and run.status == SANDBOX_FAILED:   # the machinery's failure: staff's, not a zero
            results[student] = GradeReport(profile=profile, grading_error=f"the run did not complete on our side: "
                                                                          f"{run.reason[:300]}")
            results[student].save(run_dir)
        elif executor.remote:
            from gradekit.scale import transfer
            from gradekit.scale.remote import grade_packed
            calls.append(Call(student, grade_packed, (assignment, student, transfer.pack(run_dir),
                                                      assignment.catalog(), data_root, profile, run_seed, unsandboxed)))
        else:
            calls.append(Call(student, _grade_here, (assignment, run_dir, data_root, profile, run_seed)))
    bar = tqdm(total=len(students), initial=len(results), unit="submission", desc=f"grade {assignment.name}",
               dynamic_ncols=True)

    def retrying(call: Call, refusal: Refused) -> None:
        bar.write(for_terminal(f"  {call.key}: worker {refusal.worker}: {refusal.reason[:200]}; trying another worker"))

    taken = results_retrying_refusals(executor, calls, show_in_flight(bar),
                                      lambda call, outcome: _report(autograded / call.key / assignment.name, outcome,
                                                                    profiles[call.key]), retrying)
    for call, r in taken:
        if isinstance(r, Refused):   # twice: staff's to look at, with the reason on the student's row
            r = GradeReport(profile=profiles[call.key], grading_error=f"no worker could grade it ({r.worker}: {r.reason[:300]})")
            r.save(autograded / call.key / assignment.name)
        results[call.key] = r
        flag = f"  [NEEDS ATTENTION: {r.attention[0][:80]}]" if r.attention else ""
        bar.write(for_terminal(f"  {call.key}: {r.total:g} / {r.max:g}{flag}"))
        bar.update(1)
    bar.close()
    return results


def _grade_here(assignment, run_dir, data_root, profile, seed):
    return grade_one(assignment, run_dir, data_root=data_root, profile=profile, seed=seed)


MAX_GRADE_BYTES = 16 << 20


def _report(run_dir: Path, outcome, profile: str) -> GradeReport | Refused:
    """The grade report; a remote one is checked and written into the run folder here."""
    if isinstance(outcome, (GradeReport, Refused)):
        return outcome
    if isinstance(outcome, Failed):   # the grading machinery failed: staff's to look at, never the student's zero
        report = GradeReport(profile=profile, grading_error=f"grading failed: {outcome.reason}")
    else:
        grade_text, log, worker = outcome
        try:   # the worker is ours, but what it carries was shaped by the student's run: bounded, parsed as data
            data = load_json(grade_text[:MAX_GRADE_BYTES + 1], "the worker's grade.json")
            if len(grade_text) > MAX_GRADE_BYTES or not isinstance(data, dict):
                raise UntrustedData("the worker's grade.json is not a grade record")
            report = GradeReport.from_dict(data)
        except (UntrustedData, TypeError) as exc:
            return Refused(worker, str(exc))
        (run_dir / "grade.log").write_text(log[-(1 << 20):])
        report.save(run_dir)
        return report
    report.save(run_dir)
    return report
