"""Data root handling and the release: stand-ins through torchvision's own parser, checksums, and no
solution line or hidden expected value in release/."""
from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from conftest import REPO, gradekit
from test_limits_stated import check_release_states_limits
from gradekit.course import Course
from gradekit.data import store, synth
from gradekit.authoring.release import solution_leaks

sys.path.insert(0, str(REPO / "gradekit" / "provided"))
import gradekit_data  # noqa: E402  (the helper students get)
from gradekit_data import load_dataset  # noqa: E402

CATALOG = Course(REPO).catalog()
gradekit_data.use_manifest(CATALOG.manifest())  # what gradekit_datasets.json beside the helper holds in a release


def declared(name: str):
    return CATALOG.get(name)


def test_svhn_standin_loads_with_torchvision_and_says_so(tmp_path):
    written = synth.synth(declared("svhn"), tmp_path)
    assert written == ["SVHN/train_32x32.mat", "SVHN/test_32x32.mat"]
    assert store.provenance(declared("svhn"), tmp_path) == "standin"
    with pytest.warns(UserWarning, match="STAND-IN"):
        train = load_dataset("SVHN", tmp_path, split="train")
    image, label = train[0]
    assert len(train) == 6000 and image.size == (32, 32) and 0 <= label <= 9
    assert set(train.labels.tolist()) == set(range(10))  # label 10 of the .mat became digit 0
    ok, state = store.verify(declared("svhn"), tmp_path)
    assert ok, state
    (tmp_path / "SVHN" / "test_32x32.mat").write_bytes(b"tampered")
    assert store.verify(declared("svhn"), tmp_path) == (False, "stand-in, changed since synth: SVHN/test_32x32.mat")
    with pytest.raises(RuntimeError, match="does not match STANDINS.json"):
        load_dataset("SVHN", tmp_path, split="test")


def test_stl10_standin_is_stl10s_binary_layout(tmp_path):
    """torchvision's own STL10 parser reads the stand-in (only its md5 check is skipped, loudly); the
    course's 8/13-2/13-3/13 rule then gives 800/200/300 images as on the real set's 8,000/2,000/3,000."""
    import torchvision

    written = synth.synth(declared("stl10"), tmp_path)
    assert "stl10_binary/train_X.bin" in written and not (tmp_path / "stl10_binary" / "unlabeled_X.bin").exists()
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        torchvision.datasets.STL10(str(tmp_path), split="train")      # plain torchvision refuses a stand-in
    with pytest.warns(UserWarning, match="STAND-IN"):
        train, test = (load_dataset("stl10", tmp_path, split=s) for s in ("train", "test"))
    image, label = train[0]
    assert (len(train), len(test)) == (500, 800) and image.size == (96, 96) and train.classes[0] == "airplane"
    labels = np.concatenate([train.labels, test.labels])
    assert sorted(set(labels.tolist())) == list(range(10)) and all((labels == c).sum() == 130 for c in range(10))
    assert np.asarray(image).std(axis=(0, 1)).mean() > 5            # a rendered picture, not a blank


def test_emnist_letters_standin_is_emnists_idx_layout(tmp_path):
    """torchvision's own EMNIST reads the stand-in unchanged (it only checks that the files exist): 26
    letters of 480 / 80 images, labels 1..26, 27 class names, glyphs stored transposed as in the real files."""
    import torchvision

    written = synth.synth(declared("emnist"), tmp_path)
    assert sorted(written) == sorted(f"EMNIST/raw/emnist-letters-{s}-{k}-ubyte" for s in ("train", "test")
                                     for k in ("images-idx3", "labels-idx1"))
    with pytest.warns(UserWarning, match="STAND-IN"):
        train = load_dataset("emnist", tmp_path, split="letters", train=True)
    plain = torchvision.datasets.EMNIST(str(tmp_path), split="letters", train=False)
    assert train.data.shape == (12480, 28, 28) and plain.data.shape == (2080, 28, 28)
    assert train.classes[:3] == ["N/A", "a", "b"] and len(train.classes) == 27
    assert np.bincount(train.targets.numpy()).tolist() == [0] + [480] * 26
    assert store.provenance(declared("emnist"), tmp_path) == "standin"
    # stored transposed: the glyph's ink is spread like the upright letter's after .T (an "l" is a tall stroke)
    l_images = train.data[train.targets == ord("l") - ord("a") + 1].float()
    rows_ink, cols_ink = (l_images.mean(0) > 60).any(1).sum(), (l_images.mean(0) > 60).any(0).sum()
    assert cols_ink > rows_ink      # transposed: a vertical stroke lies along the rows of the stored array


def test_fetch_from_mirror_verifies_md5(tmp_path):
    mirror = tmp_path / "mirror" / "MNIST" / "raw"
    mirror.mkdir(parents=True)
    for rel in declared("mnist").files:
        (tmp_path / "mirror" / rel).write_bytes(b"not mnist")
    with pytest.raises(ValueError, match="wrong md5"):
        store.fetch(declared("mnist"), tmp_path / "root", tmp_path / "mirror")
    assert store.provenance(declared("mnist"), tmp_path / "root").startswith("missing")


def test_real_data_verifies(data_root):
    for name in ("mnist", "fashionmnist"):
        assert store.verify(declared(name), data_root) == (True, "real")


HIDDEN = {  # values a release must never show: answers, and solution lines that are not given code
    "ee046211_hw2": ("0.98661", "0.88955", "0.59324", "132863336", "132,863,336", "93.06", "1,792", "102,764,544",
                     "kaiming_normal_", "math.sqrt(6.0"),
    "ece4179_2022_a2": ("0.27289", "0.3186", "1.2986", "0.4905", "2.3504", "271,690", "803,786",
                        "self.pool = nn.AdaptiveAvgPool2d", "relu_grad5", "torch.sigmoid(self.decoder"),
    "ece4179_2021_a2": ("29642", "29,642", "118346", "118,346", 'self.register_buffer("mean_face"',
                        "(X_train_faces - mean_face).T", "k = round(frac * images.shape[1])", "step_schedule(11"),
    "ece4179_2021_a3": ("390,602", "390602", "901,066", "901066", "self.pool = nn.MaxPool2d(3, stride=3)",
                        "torch.bincount(y_true * num_classes + y_pred", "T.RandomCrop(96, padding=8"),
    "fit3181_2023_a1": ("1.398685", "1.39944", "0.25501", "[0.6, 0.1, 0, 1.3]", "dl_dh1 * (hbar1 > 0)",
                        "np.unique(np.asarray(labels), return_inverse=True)", "torch.min(torch.max(x_adv, x - eps)",
                        "lam * y_onehot + (1 - lam) * y_onehot[perm]", "if waited >= patience"),
}


FAST_RELEASES = {"ee046211_hw2"}   # the others in the slow lane: about 4 s each


@pytest.mark.parametrize("assignment", [a if a in FAST_RELEASES else pytest.param(a, marks=pytest.mark.slow)
                                        for a in sorted(HIDDEN)])
def test_release_strips_every_solution_and_hidden_value(course, assignment):
    gradekit("release", assignment, cwd=course)
    released = course / "release" / assignment
    course_files = set(Course(course).assignment(assignment).course_files())   # the variants module, if any
    assert {p.name for p in released.iterdir()} == {f"{assignment}.ipynb", "gradekit_submit.py", "gradekit_data.py",
                                                   "gradekit_datasets.json", "gradekit_selfcheck.py",
                                                   "gradekit_checks.json", *course_files}
    assert course_files == ({"variants.py"} if assignment == "ece4179_2022_a2" else set())
    source = course / "source" / assignment / f"{assignment}.ipynb"
    assert solution_leaks(source, released / f"{assignment}.ipynb") == []
    text = (released / f"{assignment}.ipynb").read_text()
    manual = [m for m in nbformat.read(source, as_version=4).cells if m.metadata.get("nbgrader", {}).get("grade") and m.cell_type == "markdown"]
    stubs = [c for c in nbformat.read(released / f"{assignment}.ipynb", as_version=4).cells if c.source == "YOUR ANSWER HERE"]
    assert "BEGIN SOLUTION" not in text and len(stubs) == len(manual) > 0  # one stub per manual item
    checks = (released / "gradekit_checks.json").read_text()   # the public checks the release ships
    for hidden in HIDDEN[assignment]:
        assert hidden not in text, hidden
        assert hidden not in checks and hidden.replace(",", "") not in checks, hidden
    assert all(item["evidence"] for item in json.loads(checks)["items"]), "every item has a public check"
    committed = REPO / "release" / assignment / f"{assignment}.ipynb"
    assert committed.read_text() == text, f"release/ is stale: run `gradekit release {assignment}`"
    check_release_states_limits(course, assignment)


@pytest.mark.slow   # 4 s: an nbgrader release (the fast lane keeps HW2's)
def test_leak_check_catches_a_leak(course):
    gradekit("release", "ee046211_hw2", cwd=course)
    released = course / "release" / "ee046211_hw2" / "ee046211_hw2.ipynb"
    nb = nbformat.read(released, as_version=4)
    nb.cells[-1].source += "\nbound = math.sqrt(6.0 / (fan_in + fan_out))"
    nbformat.write(nb, released)
    assert solution_leaks(course / "source" / "ee046211_hw2" / "ee046211_hw2.ipynb", released) == [
        "bound = math.sqrt(6.0 / (fan_in + fan_out))"]


@pytest.mark.parametrize("builder", ["build_ee046211_hw2", "build_ece4179_2022_a2", "build_ece4179_2021_a2",
                                     "build_ece4179_2021_a3", "build_fit3181_2023_a1"])
def test_fixtures_are_built_from_the_current_solution(tmp_path, builder):
    sys.path.insert(0, str(REPO / "tests" / "fixtures"))
    build = importlib.import_module(builder)
    build.write(tmp_path)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            committed = build.OUT / path.relative_to(tmp_path)
            assert committed.read_bytes() == path.read_bytes(), f"{committed} is stale: run {build.__file__}"


@pytest.mark.parametrize("name", ["faces", "photos"])
def test_folder_datasets_fetch_from_the_mirror_and_verify(tmp_path, name):
    from conftest import MIRROR

    dataset = declared(name)
    assert store.fetch(dataset, tmp_path, MIRROR) == f"copied from {MIRROR}"
    assert store.verify(dataset, tmp_path) == (True, "real")
    victim = next(p for p in (tmp_path / dataset.path).iterdir() if p.is_file())
    victim.write_bytes(victim.read_bytes()[:-1])
    assert not store.verify(dataset, tmp_path)[0]


def test_resnet18_standin_is_named_as_one_and_loads_into_torchvision(tmp_path):
    import torch

    from gradekit_data import load_pretrained

    assert store.provenance(declared("resnet18"), tmp_path).startswith("missing")
    assert synth.synth(declared("resnet18"), tmp_path) == ["weights/resnet18-standin.pth"]
    assert not (tmp_path / declared("resnet18").path).exists(), "a stand-in never takes the real file's name"
    assert store.verify(declared("resnet18"), tmp_path) == (True, "stand-in, checksums ok")
    with pytest.warns(UserWarning, match="STAND-IN"):
        model = load_pretrained("resnet18", tmp_path)
    saved = torch.load(tmp_path / "weights" / "resnet18-standin.pth", weights_only=True)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in saved.items())


def test_no_dataset_is_named_in_the_engine():
    """Dataset knowledge lives in declarations: no declared name or loader appears in gradekit/'s code
    (docstrings and comments aside)."""
    import ast
    import io
    import tokenize

    words = {w.lower() for d in CATALOG for w in (d.name, d.loader, d.model) if w}
    for path in (REPO / "gradekit").rglob("*.py"):
        tree = ast.parse(path.read_text())
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                   and id(n) not in docstrings]
        names = [t.string for t in tokenize.generate_tokens(io.StringIO(path.read_text()).readline) if t.type == tokenize.NAME]
        found = {w for w in words if any(re.search(rf"\b{w}\b", s.lower()) for s in strings)
                 or w in {n.lower() for n in names}}
        assert not found, f"{path.relative_to(REPO)} names {sorted(found)}"


@pytest.mark.slow   # 25 s: two refused commands, a verify and a fetch
def test_an_unprepared_data_root_is_refused_before_the_batch(tmp_path, course):
    """torchvision's .gz archives copied by hand, never unpacked by `gradekit data fetch`: the run would fail
    for every student with 'Read-only file system'. The batch refuses before the first student."""
    import shutil

    from conftest import MIRROR

    root = tmp_path / "by-hand"
    shutil.copytree(MIRROR / "FashionMNIST" / "raw", root / "FashionMNIST" / "raw")
    gradekit("data", "synth", "svhn", "--data-root", str(root), cwd=course)
    assert store.provenance(declared("fashionmnist"), root) == "real"   # the checksums alone look fine
    shutil.copytree(REPO / "tests" / "fixtures" / "ee046211_hw2" / "carol_weak_mlp", course / "submitted" / "bob")
    for command in ("run", "solve"):  # grade's refusal: tests/test_tiny_end_to_end.py
        done = gradekit(command, "ee046211_hw2", "--data-root", str(root), cwd=course, check=False)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "dataset 'fashionmnist'" in done.stderr and "cannot be read as it is" in done.stderr, done.stderr
        assert f"gradekit data fetch fashionmnist --data-root {root}" in done.stderr
    assert not (course / "autograded").exists() and not (course / "solutions" / "ee046211_hw2").exists()
    verify = gradekit("data", "verify", "fashionmnist", "--data-root", str(root), cwd=course, check=False)
    assert verify.returncode == 1 and "cannot be read as it is" in verify.stdout
    gradekit("data", "fetch", "fashionmnist", "--from", str(MIRROR), "--data-root", str(root), cwd=course)
    assert gradekit("data", "verify", "fashionmnist", "--data-root", str(root), cwd=course).returncode == 0


def test_a_missing_dataset_names_itself_and_the_fix(tmp_path, course):
    done = gradekit("run", "ee046211_hw2", "--data-root", str(tmp_path), cwd=course, check=False)
    assert done.returncode == 2
    assert "dataset 'svhn'" in done.stderr and "gradekit data synth svhn" in done.stderr, done.stderr
    assert "dataset 'fashionmnist'" in done.stderr and "missing: FashionMNIST/raw/" in done.stderr


def test_a_dataset_used_but_not_declared_is_named(course):
    toml = course / "source" / "ee046211_hw2" / "assignment.toml"
    toml.write_text(toml.read_text().replace('datasets = ["fashionmnist", "svhn"]', 'datasets = ["fashionmnist", "cifar99"]'))
    done = gradekit("run", "ee046211_hw2", cwd=course, check=False)
    assert done.returncode == 2 and "['cifar99'] are used but not declared" in done.stderr, done.stderr


@pytest.mark.slow
def test_course_files_are_rebuilt_to_their_declared_digest(tmp_path):
    """hw2_Q4_data.npz from real MNIST by its recipe: the declared sha256 on any machine, 40 % label noise."""
    from conftest import MIRROR

    mnist, q4 = declared("mnist"), declared("ece4179_hw2_q4")
    with pytest.raises(ValueError, match="built from mnist, which must be fetched first"):
        store.fetch(q4, tmp_path, inputs={"mnist": mnist})
    store.fetch(mnist, tmp_path, MIRROR)
    assert store.fetch(q4, tmp_path, inputs={"mnist": mnist}) == "built by course_files.py:hw2_q4"
    assert store.verify(q4, tmp_path) == (True, "rebuilt")
    with np.load(tmp_path / "ece4179_2021" / "hw2_Q4_data.npz") as data:
        assert data["x_train"].shape == (10000, 28, 28) and data["x_test"].shape == (10000, 28, 28)
        train_labels = data["y_train"]
    import torchvision

    mnist_train = torchvision.datasets.MNIST(str(tmp_path), train=True)
    clean = {x.tobytes(): int(y) for x, y in zip(mnist_train.data.numpy(), mnist_train.targets.numpy())}
    with np.load(tmp_path / "ece4179_2021" / "hw2_Q4_data.npz") as data:   # each image's clean label
        original = np.array([clean[x.tobytes()] for x in data["x_train"]])
    changed = (train_labels != original).mean()
    assert 0.38 < changed < 0.42, changed


@pytest.mark.slow   # 3 s: the fast lane keeps its margin under two minutes
def test_a_whole_dataset_as_tensors_and_batches_sliced_where_it_is(data_root):
    """The students' whole-dataset path: the transform applied once, the same examples as the loader gives,
    and batches that cover every example once per epoch, in a reproducible order."""
    import torch
    import torchvision.transforms as T
    from gradekit_data import as_tensors, batches

    test = load_dataset("FashionMNIST", data_root, train=False, transform=T.ToTensor())
    X, y = as_tensors(test, "cpu", limit=3000)
    assert X.shape == (3000, 1, 28, 28) and X.dtype == torch.float32 and y.tolist() == test.targets[:3000].tolist()
    assert torch.equal(X[1234], test[1234][0]) and 0 <= X.min() and X.max() <= 1
    index = torch.arange(3000)   # batches of the indices themselves: which examples each epoch visits
    seen = torch.cat([xb for xb, _ in batches(index, y, 128, generator=torch.Generator().manual_seed(0))])
    assert len(seen) == 3000 and sorted(seen.tolist()) == list(range(3000))
    again = torch.cat([xb for xb, _ in batches(index, y, 128, generator=torch.Generator().manual_seed(0))])
    assert torch.equal(again, seen) and not torch.equal(seen, index)
    in_order = [xb for xb, _ in batches(X, y, 1000, shuffle=False)]
    assert len(in_order) == 3 and torch.equal(torch.cat(in_order), X)
