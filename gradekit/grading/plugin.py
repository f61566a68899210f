"""The pytest plugin every grader runs under (`pytest -p gradekit.grading.plugin`). The contract for
grader authors is in docs/graders.md; everything they use is importable from `gradekit.grading`.

A test is one mark-sheet item:

    @pytest.mark.item("task2.accuracy", points=10)
    def test_accuracy(submission, credit):
        acc = ...
        credit.tiers(acc, [(0.85, 0.5), (0.89, 1.0)], "test accuracy")

A passing test earns its points times credit.fraction. A check that fails (ItemFailed, or a plain
assert) earns nothing, and its message (never pytest's assertion introspection, which would show
expected values) is the student's reason. Anything else a grader raises (a missing dataset, a bug) is
the graders' problem: the item earns nothing yet and needs attention from staff.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from gradekit.grading.artifacts import SubmissionArtifacts
from gradekit.grading.failures import ItemFailed
from gradekit.records import FAILED, NEEDS_ATTENTION, PASSED, GradeReport, ItemResult

_RESULTS_KEY = pytest.StashKey[dict]()
STAFF_WILL_LOOK = "not graded yet: the grader could not check this item; staff will look at it"


class Credit:
    """Partial credit and the note that explains it."""

    def __init__(self):
        self.fraction = 1.0
        self.note = ""

    def tiers(self, value: float, tiers: list[tuple[float, float]], what: str, fmt: str = "{:.2%}") -> None:
        """Highest fraction whose threshold `value` reaches; fail below the lowest threshold."""
        tiers = sorted(tiers)
        reached = [(t, f) for t, f in tiers if value >= t]
        shown = fmt.format(value)
        if not reached:
            raise ItemFailed(f"{what} {shown} is below {fmt.format(tiers[0][0])}")
        threshold, self.fraction = reached[-1]
        nxt = next((t for t, _ in tiers if t > threshold), None)
        self.note = f"{what} {shown} (≥ {fmt.format(threshold)}" + (
            f"; {fmt.format(nxt)} for more)" if nxt is not None else ")")

    def partial(self, fraction: float, note: str) -> None:
        self.fraction, self.note = fraction, note

    def say(self, note: str) -> None:
        self.note = note


def pytest_addoption(parser):
    group = parser.getgroup("gradekit")
    group.addoption("--gk-run-dir", help="autograded/<student>/<assignment> to grade")
    group.addoption("--gk-report", help="where to write grade.json")
    group.addoption("--gk-data-root", help="DATA_ROOT with the grader's own copy of the data")
    group.addoption("--gk-profile", default="smoke")
    group.addoption("--gk-seed", type=int, default=0)
    group.addoption("--gk-course", help="the course repository (for the dataset declarations)")
    group.addoption("--gk-assignment", help="the assignment being graded")
    group.addoption("--gk-variant", help="the student's variant sheet (JSON; null without [variants])")
    group.addoption("--gk-items", default="", help="grade only these items (comma-separated ids or prefixes ending in *)")
    group.addoption("--gk-items-out", help="with --collect-only: write the items, points and public checks here (JSON)")


def pytest_configure(config):
    config.addinivalue_line("markers", "item(id, points): the mark-sheet item this test grades, and its points")
    config.addinivalue_line("markers", "public(*evidence): the item's public checks (gradekit.grading.public)")
    config.stash[_RESULTS_KEY] = {}


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        if item.get_closest_marker("item") is None:
            raise pytest.UsageError(f"{item.nodeid} has no @pytest.mark.item(id, points): every grader test is an item")
    only = [p for p in config.getoption("--gk-items").split(",") if p]
    if only:   # `solve --variants`: the items a variant reaches
        from gradekit.course.variants import item_matches

        keep = [i for i in items if item_matches(_item_id(i), only)]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
    out = config.getoption("--gk-items-out")
    if out:  # `gradekit check` and `release`: the items, their points and public checks, nothing graded
        found = []
        for item in items:
            marker, public = item.get_closest_marker("item"), item.get_closest_marker("public")
            found.append({"id": _item_id(item),
                          "points": float(marker.kwargs.get("points", 0)),
                          "evidence": list(public.args) if public else []})
        Path(out).write_text(json.dumps(found))


def _item_id(item) -> str:
    marker = item.get_closest_marker("item")
    return marker.args[0] if marker.args else marker.kwargs["id"]


@pytest.fixture(scope="session")
def run_dir(pytestconfig) -> Path:
    return Path(pytestconfig.getoption("--gk-run-dir")).resolve()


@pytest.fixture(scope="session")
def submission(run_dir) -> SubmissionArtifacts:
    return SubmissionArtifacts(run_dir)


@pytest.fixture(scope="session")
def data_root(pytestconfig) -> Path:
    return Path(pytestconfig.getoption("--gk-data-root")).resolve()


@pytest.fixture(scope="session")
def profile(pytestconfig) -> str:
    return pytestconfig.getoption("--gk-profile")


@pytest.fixture(scope="session")
def seed(pytestconfig, submission) -> int:
    """The SEED the runner injected into this submission's run (graders that repeat an experiment need it)."""
    return int(submission.run.parameters.get("SEED", pytestconfig.getoption("--gk-seed")))


@pytest.fixture(scope="session")
def assignment(pytestconfig):
    """The assignment as the course declares it (gradekit.course.Assignment)."""
    from gradekit.course import Course

    return Course(Path(pytestconfig.getoption("--gk-course"))).assignment(pytestconfig.getoption("--gk-assignment"))


@pytest.fixture(scope="session")
def datasets(assignment, data_root):
    """The assignment's declared datasets under the graders' data root (gradekit.grading.GraderData)."""
    from gradekit.grading.data import GraderData

    return GraderData(assignment.catalog(), data_root)


@pytest.fixture(scope="session")
def test_split(datasets):
    """test_split("svhn") -> (X, y): the graders' own copy of a declared test split, loaded once."""
    return datasets.test_split


@pytest.fixture(scope="session")
def provenance(datasets):
    """provenance("svhn") -> 'real', 'rebuilt', 'standin' or 'missing: ...' for the graders' data root."""
    return datasets.provenance


@pytest.fixture(scope="session")
def variant(pytestconfig):
    """The student's variant (gradekit.grading.variants.VariantSheet): their stored values, and the others'."""
    from gradekit.grading.variants import VariantSheet, no_variant

    path = pytestconfig.getoption("--gk-variant")
    sheet = VariantSheet.from_json(Path(path).read_text()) if path else None
    if sheet is None:
        raise no_variant(pytestconfig.getoption("--gk-assignment"))
    return sheet


@pytest.fixture
def credit(request) -> Credit:
    request.node.stash[_CREDIT_KEY] = c = Credit()
    return c


@pytest.fixture(scope="session")
def student_code(run_dir, data_root, datasets, assignment, profile):
    from gradekit.grading.student_code import StudentCode

    # the student's functions run under the memory and process limits of their own run
    from gradekit.grading.worker import WorkerKind

    kind = WorkerKind.of(data_root, datasets.catalog.manifest(), assignment.limits[profile], assignment.course_files(),
                         assignment.preload())
    code = StudentCode(run_dir, data_root, kind=kind)
    yield code
    code.close()


_CREDIT_KEY = pytest.StashKey[Credit]()


def _is_check(exc: BaseException) -> bool:
    return isinstance(exc, (ItemFailed, AssertionError))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else "check failed"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    marker = item.get_closest_marker("item")
    item_id = _item_id(item)
    points = float(marker.kwargs.get("points", marker.args[1] if len(marker.args) > 1 else 0))
    results = item.config.stash[_RESULTS_KEY]
    entry = results.setdefault(item_id, ItemResult(item_id, points, test=item.name))
    if report.when not in ("setup", "call"):
        return report
    if report.failed:
        exc = call.excinfo.value
        if _is_check(exc):
            entry.points, entry.status, entry.reason = 0.0, FAILED, _first_line(exc)
            entry.matches = getattr(exc, "matches", "")   # right for another variant: for staff, in the sheet
        else:  # the grader's own failure: never the student's zero
            entry.points, entry.status, entry.reason = 0.0, NEEDS_ATTENTION, STAFF_WILL_LOOK
            entry.detail = f"{type(exc).__name__}: {str(exc)[:300]}"
    elif report.skipped:
        why = report.longrepr[2] if isinstance(report.longrepr, tuple) else "skipped"
        entry.points, entry.status, entry.reason, entry.detail = 0.0, NEEDS_ATTENTION, STAFF_WILL_LOOK, f"skipped: {why}"
    elif report.when == "call":
        credit = item.stash.get(_CREDIT_KEY, Credit())
        entry.points, entry.status = round(points * credit.fraction, 4), PASSED
        entry.reason = credit.note or "correct"
    return report


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("--gk-report")
    if not path:
        return
    report = GradeReport(list(session.config.stash[_RESULTS_KEY].values()), profile=session.config.getoption("--gk-profile"),
                         graders_sha256=graders_digest(Path(session.config.rootpath)))
    report.save(Path(path).parent)


def graders_digest(folder: Path) -> str:
    """sha256 of the graders as they graded: every file under grader_tests/<assignment>/ but caches."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
