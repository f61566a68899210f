"""Data root handling and the release: stand-ins through torchvision's own parser, checksums, and no
solution line or hidden expected value in release/."""
from __future__ import annotations

import json
import shutil
import sys
import warnings
from pathlib import Path

import nbformat
import pytest

from conftest import REPO, gradekit
from gradekit.data import registry, store, synth
from gradekit.release import solution_leaks

sys.path.insert(0, str(REPO / "gradekit" / "provided"))
from gradekit_data import load_dataset  # noqa: E402  (the helper students get)


def test_svhn_standin_loads_with_torchvision_and_says_so(tmp_path):
    written = synth.synth("svhn", tmp_path)
    assert written == ["SVHN/train_32x32.mat", "SVHN/test_32x32.mat"]
    assert store.provenance(registry.get("svhn"), tmp_path) == "standin"
    with pytest.warns(UserWarning, match="STAND-IN"):
        train = load_dataset("SVHN", tmp_path, split="train")
    image, label = train[0]
    assert len(train) == synth.SVHN_SIZES["train"] and image.size == (32, 32) and 0 <= label <= 9
    assert set(train.labels.tolist()) == set(range(10))  # label 10 of the .mat became digit 0
    ok, state = store.verify(registry.get("svhn"), tmp_path)
    assert ok, state
    (tmp_path / "SVHN" / "test_32x32.mat").write_bytes(b"tampered")
    assert store.verify(registry.get("svhn"), tmp_path) == (False, "stand-in, changed since synth: SVHN/test_32x32.mat")
    with pytest.raises(RuntimeError, match="does not match STANDINS.json"):
        load_dataset("SVHN", tmp_path, split="test")


def test_fetch_from_mirror_verifies_md5(tmp_path):
    mirror = tmp_path / "mirror" / "MNIST" / "raw"
    mirror.mkdir(parents=True)
    for rel in registry.get("mnist").files:
        (tmp_path / "mirror" / rel).write_bytes(b"not mnist")
    with pytest.raises(ValueError, match="wrong md5"):
        store.fetch(registry.get("mnist"), tmp_path / "root", tmp_path / "mirror")
    assert store.provenance(registry.get("mnist"), tmp_path / "root").startswith("missing")


def test_real_data_verifies(data_root):
    for name in ("mnist", "fashionmnist"):
        assert store.verify(registry.get(name), data_root) == (True, "real")


def test_release_strips_every_solution_and_hidden_value(course):
    gradekit("release", "ee046211_hw2", cwd=course)
    released = course / "release" / "ee046211_hw2"
    assert {p.name for p in released.iterdir()} == {"ee046211_hw2.ipynb", "gradekit_submit.py", "gradekit_data.py"}
    source = course / "source" / "ee046211_hw2" / "ee046211_hw2.ipynb"
    assert solution_leaks(source, released / "ee046211_hw2.ipynb") == []
    text = (released / "ee046211_hw2.ipynb").read_text()
    stubs = [c for c in nbformat.read(released / "ee046211_hw2.ipynb", as_version=4).cells if c.source == "YOUR ANSWER HERE"]
    assert "BEGIN SOLUTION" not in text and len(stubs) == 8  # one per manual item
    for hidden in ("0.98661", "0.88955", "0.59324", "132863336", "132,863,336", "93.06", "1,792", "102,764,544",
                   "kaiming_normal_", "math.sqrt(6.0"):
        assert hidden not in text, hidden
    assert "OneCycleLR" in text  # the given training helper stays: it is not a solution
    committed = REPO / "release" / "ee046211_hw2" / "ee046211_hw2.ipynb"
    assert committed.read_text() == text, "release/ is stale: run `gradekit release ee046211_hw2`"


def test_leak_check_catches_a_leak(course):
    gradekit("release", "ee046211_hw2", cwd=course)
    released = course / "release" / "ee046211_hw2" / "ee046211_hw2.ipynb"
    nb = nbformat.read(released, as_version=4)
    nb.cells[-1].source += "\nbound = math.sqrt(6.0 / (fan_in + fan_out))"
    nbformat.write(nb, released)
    assert solution_leaks(course / "source" / "ee046211_hw2" / "ee046211_hw2.ipynb", released) == [
        "bound = math.sqrt(6.0 / (fan_in + fan_out))"]


def test_fixtures_are_built_from_the_current_solution(tmp_path):
    sys.path.insert(0, str(REPO / "tests" / "fixtures"))
    import build_ee046211_hw2 as build

    build.write(tmp_path)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            committed = build.OUT / path.relative_to(tmp_path)
            assert committed.read_bytes() == path.read_bytes(), f"{committed} is stale: run {build.__file__}"
