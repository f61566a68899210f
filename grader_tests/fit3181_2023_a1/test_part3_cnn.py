"""Part 3: YourModel (3.2), skip connections (3.3), the grid (3.4), early stopping (3.5), augmentation (3.6),
mixup (3.7), attacks (3.8) and adversarial training (3.9) on STL10.

YourModel is checked in the sandbox, next to the student's code, by a probe that builds it for hidden
(num_blocks, use_skip) and returns only numbers. A residual addition is an add of two computed feature maps
of one shape (gradekit.grading.residual_adds). The attacks are the introduction's definitions; they are
checked on a small model and images the students never saw, with the graded calls passing
random_start=False. Early stopping is Keras's EarlyStopping(patience=3) on the validation accuracy: a tie
is not an improvement; the hidden sequences include ones where "three consecutive decreases from the
previous epoch" gives another answer."""
import itertools

import numpy as np
import pytest
import torch

from conftest import CNN_TIER, EPS, ETA, K_EVAL, as_fraction, fgsm_ref, mim_ref, pgd_ref
from gradekit.grading import BadArtifact, expect_array, require, residual_adds, small_exported_cnn
from gradekit.grading.public import answer, defined, function, mapping, model, number

HIDDEN_SEED = 8181
PROBE_CONFIGS = [(3, True), (2, False), (4, True), (2, True), (4, False), (3, False)]


def your_model_facts(student, configs):
    """Runs in the sandbox: per (num_blocks, use_skip), [logits rows, logits columns, parameters, residual adds]."""
    import numpy as np
    import torch
    from graphfacts import residual_adds

    rows = []
    for num_blocks, use_skip in configs:
        torch.manual_seed(0)
        net = student["YourModel"](num_blocks=num_blocks, use_skip=use_skip, verbose=False).model.eval()
        x = torch.rand(2, 3, 96, 96)
        with torch.no_grad():
            shape = tuple(net(x).shape)
        adds = residual_adds(torch.export.export(net, (x,)))
        rows.append([*shape, sum(p.numel() for p in net.parameters()), adds] if len(shape) == 2 else [-1, -1, -1, adds])
    return np.array(rows, dtype=np.int64)


@pytest.mark.item("q3.2.your_model", points=2)
@pytest.mark.public(defined("YourModel"))
def test_your_model(student_code):
    (facts,) = student_code.probe(your_model_facts, PROBE_CONFIGS, what="building YourModel(num_blocks, use_skip)")
    facts = expect_array(facts, "the probe's facts", shape=(len(PROBE_CONFIGS), 4), kinds="i")
    by_config = dict(zip(PROBE_CONFIGS, facts.tolist()))
    for (num_blocks, use_skip), (rows, cols, params, adds) in by_config.items():
        require((rows, cols) == (2, 10), f"YourModel(num_blocks={num_blocks}, use_skip={use_skip}) gives logits of shape "
                                         f"({rows}, {cols}) for a batch of 2 images, not (2, 10)")
        require((adds > 0) == use_skip, f"YourModel(num_blocks={num_blocks}, use_skip={use_skip}) makes {adds} residual "
                                        "additions: they must be there exactly when use_skip is True")
    for use_skip in (True, False):
        counts = [by_config[(b, use_skip)][2] for b in (2, 3, 4)]
        require(counts[0] < counts[1] < counts[2], f"with use_skip={use_skip}, YourModel's parameter count must grow "
                                                   f"with num_blocks (2, 3, 4 blocks: {counts})")


@pytest.mark.item("q3.3.accuracies", points=2)
@pytest.mark.public(model("q3_skip", (3, 96, 96), outputs=10), model("q3_noskip", (3, 96, 96), outputs=10), mapping("q3.test_acc", ["skip", "noskip"]))
def test_skip_accuracies_reported(submission, check_reported):
    reported = submission.mapping("q3.test_acc", ["skip", "noskip"])
    check_reported(reported["skip"], "q3_skip", "q3.test_acc[skip]")
    check_reported(reported["noskip"], "q3_noskip", "q3.test_acc[noskip]")


@pytest.mark.item("q3.3.skip_graph", points=1)
@pytest.mark.public(model("q3_skip", (3, 96, 96), outputs=10), model("q3_noskip", (3, 96, 96), outputs=10))
def test_skip_graphs(models):
    require(residual_adds(models["q3_skip"]) > 0, "q3_skip makes no residual addition")
    require(residual_adds(models["q3_noskip"]) == 0, f"q3_noskip makes {residual_adds(models['q3_noskip'])} residual additions")


@pytest.mark.item("q3.4.grid", points=1)
@pytest.mark.public(answer("q3.grid"))
def test_grid_table(submission):
    rows = submission.answer("q3.grid")
    keys = {"num_blocks", "use_skip", "learning_rate", "val_acc"}
    if not isinstance(rows, list) or not all(isinstance(r, dict) and keys <= set(r) for r in rows):
        raise BadArtifact('q3.grid must be a list of rows {"num_blocks", "use_skip", "learning_rate", "val_acc"}')
    combos = {(int(r["num_blocks"]), bool(r["use_skip"]), round(float(r["learning_rate"]), 6)) for r in rows}
    require(len(rows) == 12 and combos == set(itertools.product((2, 3, 4), (True, False), (0.001, 0.0001))),
            "q3.grid must have exactly one row for each of the 12 (num_blocks, use_skip, learning_rate) combinations")


@pytest.mark.item("q3.4.best", points=2)
@pytest.mark.public(model("q3_best", (3, 96, 96), outputs=10), number("q3.best_test_acc"))
def test_best_model(submission, check_reported, test_accuracy, credit, stand_in_note):
    check_reported(submission.number("q3.best_test_acc"), "q3_best", "q3.best_test_acc")
    acc = test_accuracy["q3_best"]
    require(acc >= CNN_TIER, f"q3_best's test accuracy {acc:.2%} is below {CNN_TIER:.0%}")
    credit.say(f"test accuracy of q3_best {acc:.2%} (≥ {CNN_TIER:.0%})" + stand_in_note("stl10"))


def reference_stop(val_accs, patience=3):
    best, waited = -np.inf, 0
    for epoch, acc in enumerate(val_accs, start=1):
        if acc > best:
            best, waited = acc, 0
        else:
            waited += 1
            if waited >= patience:
                return epoch
    return None


@pytest.mark.item("q3.5.early_stopping", points=2)
@pytest.mark.public(function("early_stopping_epoch", [0.5, 0.7, 0.6, 0.6, 0.6], 3, returns="number or None"))
def test_early_stopping(student_code):
    sequences = [[0.50, 0.70, 0.60, 0.65, 0.62, 0.66, 0.64],        # no improvement on 0.70, though it rises twice
                 [0.30, 0.40, 0.40, 0.40, 0.40, 0.50],              # ties are not improvements
                 [0.10, 0.20, 0.30, 0.40, 0.50],                    # never stops
                 [0.60, 0.50, 0.40, 0.30, 0.20],                    # falls from the start
                 [0.2, 0.3, 0.25, 0.35, 0.3, 0.32, 0.34, 0.31, 0.36]]
    results = student_code.call_each("early_stopping_epoch", [(s, 3) for s in sequences])
    for seq, (out, *_) in zip(sequences, results):
        expected = reference_stop(seq)
        got = None if out is None else expect_array(out, "early_stopping_epoch(...)", kinds="iuf")
        require((got is None and expected is None) or (got is not None and expected is not None and got.size == 1
                                                        and float(got.ravel()[0]) == expected),
                f"early_stopping_epoch({seq}, patience=3) should stop at "
                f"{'no epoch (None)' if expected is None else 'another epoch'}: training stops once the validation "
                "accuracy has not exceeded its best so far for 3 consecutive epochs")


@pytest.mark.item("q3.6.accuracy", points=1)
@pytest.mark.public(model("q3_aug", (3, 96, 96), outputs=10), number("q3.aug_test_acc"))
def test_augmented_accuracy(submission, check_reported):
    check_reported(submission.number("q3.aug_test_acc"), "q3_aug", "q3.aug_test_acc")


@pytest.mark.item("q3.7.mixup", points=2)
@pytest.mark.public(defined("mixup"))
def test_mixup(student_code):
    g = torch.Generator().manual_seed(HIDDEN_SEED)
    cases = []
    for n, lam in ((6, 0.3), (5, 0.85)):
        x, y = torch.rand(n, 3, 8, 8, generator=g), torch.eye(10)[torch.randint(0, 10, (n,), generator=g)]
        cases.append((x.numpy(), y.numpy(), lam, torch.randperm(n, generator=g).numpy()))
    for (x, y, lam, perm), out in zip(cases, student_code.call_each("mixup", cases, torch_args=True)):
        require(len(out) == 2, "mixup must return (mixed images, mixed labels)")
        xm, ym = expect_array(out[0], "mixup's images", shape=x.shape), expect_array(out[1], "mixup's labels", shape=y.shape)
        require(np.allclose(xm, lam * x + (1 - lam) * x[perm], atol=1e-6), "mixup's images are not λx + (1 − λ)x[perm]")
        require(np.allclose(ym, lam * y + (1 - lam) * y[perm], atol=1e-6), "mixup's labels are not λy + (1 − λ)y[perm]")


@pytest.mark.item("q3.7.accuracy", points=1)
@pytest.mark.public(model("q3_mixup", (3, 96, 96), outputs=10), number("q3.mixup_test_acc"))
def test_mixup_accuracy(submission, check_reported):
    check_reported(submission.number("q3.mixup_test_acc"), "q3_mixup", "q3.mixup_test_acc")


# 3.8: the attacks on the graders' own model and images, all three in one sandboxed process ------------
@pytest.fixture(scope="module")
def attack_case():
    net, program = small_exported_cnn(HIDDEN_SEED, classes=5)
    g = torch.Generator().manual_seed(HIDDEN_SEED)
    return net, program, torch.rand(12, 3, 24, 24, generator=g), torch.randint(0, 5, (12,), generator=g)


ATTACKS = {"fgsm": (fgsm_ref, (EPS,), {}), "pgd": (pgd_ref, (EPS, K_EVAL, ETA), {"random_start": False}),
           "mim": (mim_ref, (EPS, K_EVAL, ETA), {})}


@pytest.fixture(scope="module")
def attacked(student_code, attack_case):
    """name -> the student's adversarial images, or the ItemFailed of that call."""
    _, program, x, y = attack_case
    calls = [(name, (program, x.numpy(), y.numpy(), *params), kwargs) for name, (_, params, kwargs) in ATTACKS.items()]
    results = student_code.call_many(calls, torch_args=True, keep_going=True)
    return {name: r if isinstance(r, Exception) else r[0] for name, r in zip(ATTACKS, results)}


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.item(f"q3.8.{n}", points=1),
                                                         pytest.mark.public(defined(n))], id=n) for n in ATTACKS])
def test_attack(attacked, attack_case, name):
    net, _, x, y = attack_case
    out = attacked[name]
    if isinstance(out, Exception):
        raise out
    reference, params, _ = ATTACKS[name]
    out = expect_array(out, f"{name}'s adversarial images", shape=tuple(x.shape))
    expected = reference(net, x, y, *params).numpy()
    what = f"{name}(model, x, y, {', '.join(map(str, params))})"
    if name != "fgsm":
        require(np.abs(out - x.numpy()).max() <= EPS + 1e-6, f"{what} leaves the ε-ball around x (ε = {EPS})")
    require(out.min() >= -1e-6 and out.max() <= 1 + 1e-6, f"{what} leaves [0, 1]")
    # a sign can flip where a gradient is ~0 (sum vs mean loss): allow a few elements to differ
    differ = np.mean(np.abs(out - expected) > 1e-5)
    require(differ <= 0.005, f"{what} differs from the definition on the graders' model and images ({differ:.1%} of the pixels)")


@pytest.mark.item("q3.8.robust_reported", points=1)
@pytest.mark.public(model("q3_best", (3, 96, 96), outputs=10), mapping("q3.robust_best", ["clean", "fgsm", "pgd", "mim"]))
def test_robust_best_reported(check_robust_reported):
    check_robust_reported("q3.robust_best", "q3_best")


@pytest.mark.item("q3.9.robust_better", points=2)
@pytest.mark.public(model("q3_robust", (3, 96, 96), outputs=10), model("q3_best", (3, 96, 96), outputs=10))
def test_robust_model_is_more_robust(robust_accuracy, credit):
    robust, standard = robust_accuracy["q3_robust"]["pgd"], robust_accuracy["q3_best"]["pgd"]
    require(robust > standard, f"q3_robust's PGD-20 accuracy ({robust:.1%}, the graders' attack) does not exceed "
                               f"q3_best's ({standard:.1%})")
    credit.say(f"PGD-20 accuracy: q3_robust {robust:.1%}, q3_best {standard:.1%} (the graders' attack)")


@pytest.mark.item("q3.9.reported", points=1)
@pytest.mark.public(model("q3_robust", (3, 96, 96), outputs=10), mapping("q3.robust_robust", ["clean", "fgsm", "pgd", "mim"]))
def test_robust_robust_reported(check_robust_reported):
    check_robust_reported("q3.robust_robust", "q3_robust")
