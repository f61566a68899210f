"""The pytest plugin every grader runs under (`pytest -p gradekit.grading.plugin`).

A test is one mark-sheet item:

    @pytest.mark.item("task2.accuracy", points=10)
    def test_accuracy(submission, credit):
        acc = ...
        credit.tiers(acc, [(0.85, 0.5), (0.89, 1.0)], "test accuracy")

A passing test earns its points times credit.fraction; a failing one earns nothing, and its message
(never pytest's assertion introspection, which would show expected values) is the student's reason.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradekit import atomic
from gradekit.grading.artifacts import SubmissionArtifacts
from gradekit.grading.failures import ItemFailed

_RESULTS_KEY = pytest.StashKey[dict]()


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


def pytest_configure(config):
    config.addinivalue_line("markers", "item(id, points): the mark-sheet item this test grades, and its points")
    config.stash[_RESULTS_KEY] = {}


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        if item.get_closest_marker("item") is None:
            raise pytest.UsageError(f"{item.nodeid} has no @pytest.mark.item(id, points): every grader test is an item")


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
    return int(submission.run.get("parameters", {}).get("SEED", pytestconfig.getoption("--gk-seed")))


@pytest.fixture(scope="session")
def test_split(data_root):
    """test_split("svhn") -> (X, y): the grader's own copy of a test split, loaded once per process;
    an item that needs a missing dataset is not graded and says why."""
    from gradekit.grading import testsets

    cache = {}

    def load(name: str):
        if name not in cache:
            cache[name] = testsets.load(name, data_root)
        return cache[name]

    return load


@pytest.fixture(scope="session")
def provenance(data_root):
    """provenance("svhn") -> 'real', 'standin' or 'missing: ...' for the grader's data root."""
    from gradekit.grading import testsets

    return lambda name: testsets.provenance(name, data_root)


@pytest.fixture
def credit(request) -> Credit:
    request.node.stash[_CREDIT_KEY] = c = Credit()
    return c


@pytest.fixture(scope="session")
def student_code(run_dir, data_root):
    from gradekit.grading.student_code import StudentCode

    return StudentCode(run_dir, data_root)


_CREDIT_KEY = pytest.StashKey[Credit]()


def _reason(excinfo) -> str:
    exc = excinfo.value
    if isinstance(exc, (ItemFailed, AssertionError)):
        text = str(exc).strip().splitlines()
        return text[0] if text else "check failed"
    return f"the grader could not check this item: {type(exc).__name__}: {str(exc)[:200]}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    marker = item.get_closest_marker("item")
    item_id = marker.args[0] if marker.args else marker.kwargs["id"]
    points = float(marker.kwargs.get("points", marker.args[1] if len(marker.args) > 1 else 0))
    results = item.config.stash[_RESULTS_KEY]
    entry = results.setdefault(item_id, {"id": item_id, "max": points, "points": 0.0, "reason": "", "test": item.name})
    if report.when in ("setup", "call") and report.failed:
        entry.update(points=0.0, reason=_reason(call.excinfo), passed=False)
    elif report.when == "call" and report.passed:
        credit = item.stash.get(_CREDIT_KEY, Credit())
        entry.update(points=round(points * credit.fraction, 4), reason=credit.note or "correct", passed=True)
    elif report.skipped and report.when in ("setup", "call"):
        entry.update(points=0.0, reason=f"not graded: {report.longrepr[2] if isinstance(report.longrepr, tuple) else 'skipped'}", passed=False)
    return report


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("--gk-report")
    if not path:
        return
    items = list(session.config.stash[_RESULTS_KEY].values())
    run = SubmissionArtifacts(Path(session.config.getoption("--gk-run-dir"))).run
    atomic.write_json(Path(path), {
        "items": items, "total": round(sum(i["points"] for i in items), 4), "max": sum(i["max"] for i in items),
        "run_status": run.get("status"), "run_reason": run.get("reason"), "profile": session.config.getoption("--gk-profile"),
        "data": run.get("data", {}), "sandboxed": run.get("sandboxed"), "warnings": run.get("warnings", [])})
