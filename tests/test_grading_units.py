"""The grading building blocks, each on a small case where it could go wrong."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

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


def test_missing_evidence_cites_the_failure_of_its_own_task(tmp_path):
    """Task 3's model is missing because Task 3's training cell raised, not because of Q2's stub in Part 1."""
    tasks = [{"name": "Part 1", "status": "error", "reason": "code cell 3 [q2-code] raised NotImplementedError: ",
              "submits": [r"answer:q2\.grad"]},
             {"name": "Task 3", "status": "error", "reason": "code cell 14 [t3-train] raised TypeError: bad batch",
              "submits": [r"model:task3_cnn", r"answer:task3\.param_count", r"model:q3_.+"]},
             {"name": "Task 4", "status": "ok", "reason": "all cells ran", "submits": [r"answer:task4\.x"]}]
    s = _artifacts(tmp_path, {}, {"status": "error", "reason": "Part 1: code cell 3 [q2-code] raised NotImplementedError",
                                  "tasks": tasks})
    with pytest.raises(MissingArtifact, match=r"model 'task3_cnn' was not submitted \(Task 3: error: code cell 14 "
                                              r"\[t3-train\] raised TypeError"):
        s.model("task3_cnn")
    with pytest.raises(MissingArtifact, match=r"model 'q3_wide' was not submitted \(Task 3: "):
        s.model("q3_wide")
    with pytest.raises(MissingArtifact, match=r"^answer 'task4.x' was not submitted$"):   # its task ran: no excuse quoted
        s.answer("task4.x")
    with pytest.raises(MissingArtifact, match=r"answer 'other' was not submitted \(the run: error: Part 1"):
        s.answer("other")


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


def test_hand_calculation_precision():
    from gradekit.grading import HAND_CALCULATION, SigFigs

    for accepted in (0.987, 0.986, 0.98661, 0.9875):
        assert HAND_CALCULATION.accepts(accepted, 0.98661), accepted
    for refused in (0.98, 0.985, 0.9877, 0.0):
        assert not HAND_CALCULATION.accepts(refused, 0.98661), refused
    assert HAND_CALCULATION.accepts(-0.00123, -0.0012345) and not HAND_CALCULATION.accepts(-0.0013, -0.0012345)
    assert HAND_CALCULATION.accepts(0.0, 0.0) and not HAND_CALCULATION.accepts(1e-4, 0.0)
    assert SigFigs(4).accepts(0.9866, 0.98661) and not SigFigs(4).accepts(0.986, 0.98661)


HW2_Q2 = {"W1": 0.1, "W2": 0.2, "W3": 0.3, "W4": 0.4, "W5": 0.5, "W6": 0.6, "W7": 0.7, "W8": 0.8, "W9": 0.9, "W10": 0.1,
          "b1": 0.5, "b2": 0.5}


def _hw2_q2_answers(digits) -> dict:
    """A student's Q2 worked by hand, each number passed through `digits` (rounding or truncation)."""
    import torch

    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in HW2_Q2.items()}
    x, t = [1.0, 4.0, 5.0], [0.1, 0.05]
    h1 = torch.sigmoid(p["W1"] * x[0] + p["W3"] * x[1] + p["W5"] * x[2] + p["b1"])
    h2 = torch.sigmoid(p["W2"] * x[0] + p["W4"] * x[1] + p["W6"] * x[2] + p["b1"])
    o1 = torch.sigmoid(p["W7"] * h1 + p["W9"] * h2 + p["b2"])
    o2 = torch.sigmoid(p["W8"] * h1 + p["W10"] * h2 + p["b2"])
    mse = ((o1 - t[0]) ** 2 + (o2 - t[1]) ** 2) / 2
    mse.backward()
    grad = {k: digits(v.grad.item()) for k, v in p.items()}
    return {"q2.hidden": [digits(h1.item()), digits(h2.item())], "q2.output": [digits(o1.item()), digits(o2.item())],
            "q2.mse": digits(mse.item()), "q2.grad": grad, "q2.updated": {k: HW2_Q2[k] - 0.01 * g for k, g in grad.items()}}


def _significant(n: int, truncate: bool = False):
    def digits(v: float) -> float:
        scale = 10 ** (n - 1 - math.floor(math.log10(abs(v))))
        return (math.trunc(v * scale) if truncate else round(v * scale)) / scale
    return digits


@pytest.mark.slow   # 6 s a case: the real HW2 graders (the precision rule itself: test_hand_calculation_precision)
@pytest.mark.parametrize("how, earned", [("rounded to 3", 13), pytest.param("truncated to 3", 13, marks=pytest.mark.slow),
                                         pytest.param("rounded to 2", None, marks=pytest.mark.slow)])
def test_hw2_backprop_by_hand_earns_its_marks_at_three_significant_figures(tmp_path, how, earned):
    """The real Q2 graders on a hand-worked answer file: three significant figures (rounded or truncated,
    as a careful hand calculation gives) earn every Q2 point; two earn none."""
    import subprocess
    import sys

    from conftest import REPO

    n, truncate = int(how[-1]), how.startswith("truncated")
    run_dir = tmp_path / "run"
    (run_dir / "artifacts").mkdir(parents=True)
    (run_dir / "artifacts" / "answers.json").write_text(json.dumps(_hw2_q2_answers(_significant(n, truncate))))
    report = run_dir / "grade.json"
    subprocess.run([sys.executable, "-m", "pytest", str(REPO / "grader_tests" / "ee046211_hw2" / "test_part1_theory.py"),
                    "-p", "gradekit.grading.plugin", "-p", "no:cacheprovider", "-q", "-k", "not vgg",
                    f"--gk-run-dir={run_dir}", f"--gk-report={report}", f"--gk-data-root={tmp_path}",
                    f"--gk-course={REPO}", "--gk-assignment=ee046211_hw2"], capture_output=True, cwd=tmp_path)
    items = {i["id"]: i for i in json.loads(report.read_text())["items"]}
    total = sum(i["points"] for i in items.values())
    if earned is not None:
        assert total == earned, {k: (i["points"], i["reason"]) for k, i in items.items()}
    else:  # a value outside the precision earns nothing (a gradient that happens to agree still does)
        assert items["q2.forward"]["points"] == items["q2.mse"]["points"] == 0 and total < 2
        assert "checked to 3 significant figures" in items["q2.forward"]["reason"]


def test_several_calls_share_one_process_and_fail_apart(tmp_path):
    code = _notebook_dir(tmp_path, "def double(x):\n    x *= 2\n    return x\n"
                                   "def stop(seq):\n    return None if max(seq) == seq[-1] else len(seq)\n"
                                   "def boom():\n    raise ValueError('nope')")
    x = np.ones(3)
    results = code.call_many([("double", (x,)), ("stop", ([1, 2, 3],)), ("stop", ([3, 2],)), ("boom", ())], keep_going=True)
    assert results[0][0].tolist() == [2, 2, 2] and x.tolist() == [1, 1, 1]   # the grader's array is untouched
    assert results[1] == [None] and int(results[2][0]) == 2                    # None crosses back as None
    assert isinstance(results[3], ItemFailed) and "ValueError: nope" in str(results[3])
    assert [int(r[0][0]) for r in code.call_each("double", [(np.ones(1),), (np.full(1, 5.0),)])] == [2, 10]
    with pytest.raises(ItemFailed, match="boom\\(\\) raised"):
        code.call_many([("double", (x,)), ("boom", ())])
    code.close()


def test_one_process_serves_a_session_and_a_crash_costs_one_call(tmp_path):
    code = _notebook_dir(tmp_path, "import os\nCALLS = []\ndef count():\n    CALLS.append(1)\n    return len(CALLS)\n"
                                   "def die():\n    os._exit(3)\ndef shout():\n    print('7\\n' * 5)\n    return 1")
    assert [int(code.call("count")[0]) for _ in range(3)] == [1, 2, 3]       # one process, started once
    assert int(code.call("shout")[0]) == 1                                     # prints never reach the protocol
    with pytest.raises(ItemFailed, match="crashed the worker process \\(exit code 3\\)"):
        code.call("die")
    assert int(code.call("count")[0]) == 1                                     # a fresh process after the crash
    work = code._worker.home
    code.close()
    assert not work.exists()


def _count_blocks(student, sizes):
    """A grader's probe: runs beside the notebook's definitions and returns numbers only."""
    import numpy as np
    import torch
    from graphfacts import residual_adds

    out = []
    for n in sizes:
        net = student["Net"](n).eval()
        out.append(residual_adds(torch.export.export(net, (torch.rand(1, 2, 4, 4),))))
    return np.array(out)


def test_a_probe_inspects_a_students_class_in_the_sandbox(tmp_path):
    code = _notebook_dir(tmp_path, "import torch\nclass Net(torch.nn.Module):\n"
                                   "    def __init__(self, n):\n        super().__init__()\n"
                                   "        self.convs = torch.nn.ModuleList(torch.nn.Conv2d(2, 2, 3, padding=1) for _ in range(n))\n"
                                   "    def forward(self, x):\n        for c in self.convs:\n            x = torch.relu(c(x)) + x\n"
                                   "        return x")
    (counts,) = code.probe(_count_blocks, [1, 3])
    assert counts.tolist() == [1, 3]   # the first block adds the network's input itself


def test_graph_facts_find_activations_and_residual_additions():
    import torch
    from gradekit.grading import activations, residual_adds

    class Block(torch.nn.Module):
        def __init__(self, skip):
            super().__init__()
            self.conv, self.project, self.skip = torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.Conv2d(3, 4, 1), skip
            self.bias = torch.nn.Parameter(torch.zeros(4, 1, 1))

        def forward(self, x):
            y = torch.tanh(self.conv(x)) + self.bias + 1.0      # a bias and a constant: not residual
            return torch.sigmoid(y + self.project(x)) if self.skip else torch.sigmoid(y)

    x = torch.rand(2, 3, 8, 8)
    skip, plain = (torch.export.export(Block(s).eval(), (x,)) for s in (True, False))
    assert residual_adds(skip) == 1 and residual_adds(plain) == 0
    assert activations(skip) == activations(plain) == {"tanh", "sigmoid"}


def test_module_level_names_a_function_reads_travel_with_it(tmp_path):
    """SCALE = math.sqrt(2) works in the notebook, so it works when graded; a name computed by the notebook's
    own training cannot travel, and the reason says which name and why."""
    code = _notebook_dir(tmp_path, "import math\nimport numpy as np\nSCALE = math.sqrt(2)\nOFFSETS = np.arange(3) * SCALE\n"
                                   "def train():\n    return 5.0\nmodel_weight = train()\n"
                                   "def scaled(x):\n    return x * SCALE + OFFSETS\ndef weighted(x):\n    return x * model_weight")
    (out,) = code.call("scaled", np.ones(3))
    assert np.allclose(out, np.sqrt(2) + np.arange(3) * np.sqrt(2))
    with pytest.raises(ItemFailed, match="global model_weight, which the graders cannot bring along \\(it is computed by "
                                         "calling the notebook's train\\(\\)"):
        code.call("weighted", np.ones(3))
    code.close()


def test_a_model_submitted_with_a_slice_of_a_large_tensor_stores_only_the_slice(tmp_path):
    """`submit.model("mlp", model, X_test[:4])`: the example is copied, so the file holds a 4-image example
    and the weights, not the 31 MB tensor the slice views."""
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gradekit" / "provided"))
    from gradekit_submit import Submission

    big = torch.rand(10_000, 784)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)).eval()
    Submission(tmp_path).model("mlp", model, big[:4])
    assert (tmp_path / "mlp.pt2").stat().st_size < 200_000
