"""The grading building blocks, each on a small case where it could go wrong."""
from __future__ import annotations

import json
import math

import nbformat
import numpy as np
import pytest

from gradekit.grading.artifacts import SubmissionArtifacts
from gradekit.grading.failures import BadArtifact, ItemFailed, MissingArtifact
from gradekit.grading.plugin import Credit
from gradekit.grading.student_code import StudentCode, definitions, expect_array


def test_credit_tiers():
    c = Credit()
    c.tiers(0.87, [(0.89, 1.0), (0.85, 0.5)], "accuracy")
    assert c.fraction == 0.5 and "≥ 85.00%" in c.note and "89.00% for more" in c.note
    c.tiers(0.9, [(0.85, 0.5), (0.89, 1.0)], "accuracy")
    assert c.fraction == 1.0
    with pytest.raises(ItemFailed, match="below 85.00%"):
        c.tiers(0.5, [(0.85, 0.5), (0.89, 1.0)], "accuracy")


def _artifacts(tmp_path, answers, run=None) -> SubmissionArtifacts:
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "answers.json").write_text(json.dumps(answers))
    (tmp_path / "run.json").write_text(json.dumps(run or {"status": "ok"}))
    return SubmissionArtifacts(tmp_path)


def test_answers_are_type_checked(tmp_path):
    s = _artifacts(tmp_path, {"a": True, "b": "0.5", "c": [1, 2], "d": {"x": 1.0}, "e": 2.5})
    with pytest.raises(BadArtifact, match="must be a number, not bool"):
        s.number("a")
    with pytest.raises(BadArtifact, match="not str"):
        s.number("b")
    with pytest.raises(BadArtifact, match="list of 3"):
        s.numbers("c", 3)
    with pytest.raises(BadArtifact, match="lacks y"):
        s.mapping("d", ["x", "y"])
    assert s.number("e") == 2.5


def test_nan_answer_is_refused(tmp_path):
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "answers.json").write_text('{"a": NaN}')
    with pytest.raises(BadArtifact, match="not finite"):
        SubmissionArtifacts(tmp_path).number("a")


def test_missing_answer_names_the_run_failure(tmp_path):
    s = _artifacts(tmp_path, {}, {"status": "error", "reason": "cell 7 raised NotImplementedError: "})
    with pytest.raises(MissingArtifact, match=r"answer 'q' was not submitted \(the run: error: cell 7 raised"):
        s.answer("q")


def test_definitions_keep_only_defs_imports_and_literals(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import math\n%matplotlib inline\nK = 3\nx = compute()\ntrain_for_an_hour()"),
                nbformat.v4.new_code_cell("def f(a):\n    return a * K\nclass C:\n    pass"),
                nbformat.v4.new_code_cell("this is not python ("),
                nbformat.v4.new_code_cell("def never_ran():\n    pass")]
    for cell in nb.cells[:3]:
        cell.execution_count = 1
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    code = definitions(path)
    assert "import math" in code and "K = 3" in code and "def f" in code and "class C" in code
    assert "compute" not in code and "train_for_an_hour" not in code and "never_ran" not in code


def _notebook_dir(tmp_path, source: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source, execution_count=1)]
    nbformat.write(nb, tmp_path / "sub.ipynb")
    return StudentCode(tmp_path, tmp_path, timeout_s=60)


def test_student_function_called_across_the_boundary(tmp_path):
    code = _notebook_dir(tmp_path, "import torch\ndef scale(x, k):\n    return torch.as_tensor(x) * k, 7")
    out, seven = code.call("scale", np.arange(4, dtype=np.float32), 2.0, torch_args=True)
    assert out.tolist() == [0, 2, 4, 6] and int(seven) == 7
    expect_array(out, "scale", shape=(4,))
    with pytest.raises(BadArtifact, match="shape"):
        expect_array(out, "scale", shape=(2, 2))


def test_always_equal_object_never_crosses_back(tmp_path):
    code = _notebook_dir(tmp_path, "class Liar:\n    def __eq__(self, other):\n        return True\ndef f():\n    return Liar()")
    with pytest.raises(ItemFailed, match="is a Liar, not a tensor"):
        code.call("f")


def test_student_function_errors_and_hangs_are_reasons(tmp_path):
    code = _notebook_dir(tmp_path, "import time\ndef boom():\n    raise ValueError('nope')\ndef hang():\n    time.sleep(600)")
    with pytest.raises(ItemFailed, match="raised ValueError: nope"):
        code.call("boom")
    code.timeout_s = 3
    with pytest.raises(ItemFailed, match="did not return within 3 s"):
        code.call("hang")
    with pytest.raises(ItemFailed, match="no function missing"):
        code.call("missing")


def test_a_model_can_be_handed_to_a_student_function(tmp_path):
    import torch

    code = _notebook_dir(tmp_path, "import torch\ndef confidence(model, x):\n    model.eval()\n    return torch.softmax(model(x), 1).max(1).values")
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3)).eval()
    x = torch.randn(2, 1, 2, 2)
    program = torch.export.export(model, (x,))
    (out,) = code.call("confidence", program, x.numpy(), torch_args=True)
    assert np.allclose(out, torch.softmax(model(x), 1).max(1).values.detach().numpy(), atol=1e-6)


def test_changed_tensors_sees_running_statistics():
    import torch

    from gradekit.grading.checks import changed_tensors

    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Linear(2, 2))
    pristine = {k: v.clone() for k, v in net.state_dict().items()}
    net.train()
    with torch.no_grad():
        net[1](torch.randn(4, 2, 5, 5))  # a forward pass in train mode moves BN's running stats
        net[2].weight.add_(1)
    assert changed_tensors(net.state_dict(), pristine, ignore_prefixes=("2.",)) == [
        "1.running_mean", "1.running_var", "1.num_batches_tracked"]
