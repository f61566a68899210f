"""The students' self-check (`submit.check()`): the graders' public checks shipped with the release, run in a
real Jupyter kernel as a student runs them; what it says for missing and malformed evidence; and that the
shipped checks hold no value from the graders' hidden data."""
from __future__ import annotations

import json
import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import gradekit, tiny_course

GRADERS_HIDDEN = ("0.5, -3.0, 7.25", "7.25", "1000000")   # the hidden input of tiny.double


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    course, data = tiny_course(tmp_path_factory.mktemp("selfcheck") / "course", [])
    gradekit("release", "tiny", cwd=course)
    return course / "release" / "tiny", data


def _run_in_kernel(folder, cells: list[str], which: str = "") -> list[dict]:
    """Each cell's `submit.check()` report, from a kernel started in `folder` as Jupyter would."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import json\nfrom gradekit_submit import Submission\nsubmit = Submission('outputs')")])
    nb.cells += [nbformat.v4.new_code_cell(c + f"\nprint('REPORT', json.dumps(dict(submit.check({which!r} or None))))") for c in cells]
    NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    reports = []
    for cell in nb.cells[1:]:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        reports.append(json.loads(text.split("REPORT ", 1)[1]))
    return reports


def test_the_release_ships_the_public_checks_and_nothing_hidden(release):
    folder, _ = release
    checks = json.loads((folder / "gradekit_checks.json").read_text())
    assert [i["id"] for i in checks["items"]] == ["tiny.answer", "tiny.double"]
    assert checks["items"][0]["evidence"] == [{"kind": "number", "key": "tiny.answer"}]
    text = (folder / "gradekit_checks.json").read_text()
    for hidden in GRADERS_HIDDEN:
        assert hidden not in text.replace("\n", "").replace(" ", "").replace(",", ", "), hidden


def test_missing_malformed_and_ready_in_a_real_kernel(release, tmp_path):
    folder = tmp_path / "student"
    shutil.copytree(release[0], folder)
    first, stub, malformed, raising, ready = _run_in_kernel(folder, [
        "",
        "def double(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()",
        "def double(x):\n    return x.sum()\nsubmit.answer('tiny.answer', 'seven')",
        "def double(x):\n    raise ValueError('not yet')",
        "def double(x):\n    return 2 * x\nsubmit.answer('tiny.answer', 7)",
    ])
    assert first == {"tiny.answer": "answer 'tiny.answer' was not submitted: call submit.answer(\"tiny.answer\", ...)",
                     "tiny.double": "no function double() is defined in the notebook"}
    assert stub["tiny.double"] == "double() is still the release's stub (it raises NotImplementedError)"
    assert malformed["tiny.answer"] == "answer 'tiny.answer' must be one finite number (found str)"
    assert malformed["tiny.double"] == "double(...) returned shape () on the release's example; expected (2,)"
    assert raising["tiny.double"] == "double(...) raised ValueError on the release's example: not yet"
    assert ready == {"tiny.answer": "ready", "tiny.double": "ready"}


@pytest.mark.slow   # two more kernels: the fast lane keeps the one above
def test_one_item_or_a_group_by_its_prefix(release, tmp_path):
    folder = tmp_path / "student"
    shutil.copytree(release[0], folder)
    (only,) = _run_in_kernel(folder, ["submit.answer('tiny.answer', 3)"], which="tiny.answer")
    assert only == {"tiny.answer": "ready"}
    (group,) = _run_in_kernel(folder, [""], which="tiny")
    assert set(group) == {"tiny.answer", "tiny.double"}


def test_check_refuses_a_public_check_the_solution_cannot_pass(tmp_path):
    """A public check naming an answer the solution never submits is an error of `gradekit check` (the
    release would tell every student their work is not ready); an item without one is a warning."""
    from gradekit.authoring.check import check
    from gradekit.course import Course
    course, _ = tiny_course(tmp_path / "course", [])
    grader = course / "grader_tests" / "tiny" / "test_tiny.py"
    text = grader.read_text()
    grader.write_text(text.replace('@pytest.mark.public(number("tiny.answer"))', '@pytest.mark.public(number("tiny.answr"))')
                      .replace('@pytest.mark.public(function("double"', '@pytest.mark.public(function("triple"'))
    report = check(Course(course).assignment("tiny"))
    assert "item tiny.answer: its public check names answer 'tiny.answr', which the solution never submits" in report.errors
    assert "item tiny.double: its public check calls triple(), which the solution never defines" in report.errors
    grader.write_text("\n".join(line for line in text.splitlines() if "mark.public" not in line))
    report = check(Course(course).assignment("tiny"))
    assert report.errors == [] and any("item tiny.double: no @pytest.mark.public check" in w for w in report.warnings)


def test_models_arrays_state_dicts_and_a_shown_value(tmp_path):
    """The checks that need torch and numpy files, on files the real submit helper wrote, and a `value` the
    release shows (the checker called as the notebook calls it, without a kernel)."""
    import torch
    from gradekit.grading.public import arrays, function, model, state_dict
    from gradekit.provided.gradekit_selfcheck import CHECKS_FILE, run
    from gradekit.provided.gradekit_submit import Submission
    submit = Submission(tmp_path / "outputs")
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    submit.model("net", net, torch.rand(2, 2, 2))
    submit.state_dict("weights", net)
    submit.arrays("noise", images=torch.rand(5, 2, 2))
    items = [{"id": "m.ok", "evidence": [model("net", (2, 2), outputs=3)]},
             {"id": "m.outputs", "evidence": [model("net", (2, 2), outputs=10)]},
             {"id": "m.input", "evidence": [model("net", (3, 3), outputs=3)]},
             {"id": "m.missing", "evidence": [model("other", (2, 2))]},
             {"id": "s.keys", "evidence": [state_dict("weights", ["1.weight", "2.weight"])]},
             {"id": "a.shape", "evidence": [arrays("noise", images=(None, 2, 2)), arrays("noise", images=(None, 3))]},
             {"id": "f.value", "evidence": [function("twice", [1.0, 2.0], value=[2.0, 4.0])]},
             {"id": "f.wrong", "evidence": [function("once", [1.0, 2.0], value=[2.0, 4.0])]}]
    (tmp_path / CHECKS_FILE).write_text(json.dumps({"assignment": "t", "file_limit_mb": 1, "items": items}))
    namespace = {"twice": lambda x: 2 * x, "once": lambda x: x}
    report = run(tmp_path / "outputs", namespace, checks_dir=tmp_path)
    assert report["m.ok"] == "ready"
    assert report["m.outputs"] == "model net returns shape (2, 3) for a batch of 2; the grader expects 10 values per example"
    assert report["m.input"].startswith("model net does not take a batch of shape (N, 3, 3)")
    assert report["m.missing"] == 'other was not submitted: call submit.model("other", ...)'
    assert report["s.keys"] == "state_dict weights lacks 2.weight: the architecture differs from the one asked"
    assert report["a.shape"] == "arrays noise: 'images' has shape (5, 2, 2); the grader expects (any, 3)"
    assert report["f.value"] == "ready"
    assert report["f.wrong"] == "once(...) on the release's example does not give the value the release shows"
    (tmp_path / "outputs" / "net.pt2").write_bytes(b"0" * (2 << 20))   # past the 1 MB file limit
    assert "net is 2.0 MB; the grader accepts files up to 1 MB" in run(tmp_path / "outputs", namespace, "m.ok", tmp_path)["m.ok"]
