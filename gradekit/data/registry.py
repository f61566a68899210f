"""What each dataset is on disk: the files torchvision reads, their md5 (torchvision's own lists), and
how to fetch it. Generic dataset knowledge only; which assignment uses what is in its assignment.toml."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Dataset:
    name: str                      # id used in assignment.toml and on the command line
    torchvision_name: str          # class in torchvision.datasets
    files: dict[str, str]          # path under DATA_ROOT -> md5 of the real file
    fetch_kwargs: tuple[dict, ...] = field(default_factory=tuple)  # one torchvision call per split
    subfolder: str = ""            # root passed to torchvision, relative to DATA_ROOT
    standin: str | None = None     # name of the synth function in gradekit.data.synth, if any


_MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

DATASETS = {d.name: d for d in [
    Dataset("mnist", "MNIST", dict(zip([f"MNIST/raw/{f}" for f in _MNIST_FILES], [
        "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
        "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"])),
        ({"train": True}, {"train": False})),
    Dataset("fashionmnist", "FashionMNIST", dict(zip([f"FashionMNIST/raw/{f}" for f in _MNIST_FILES], [
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
        "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"])),
        ({"train": True}, {"train": False})),
    Dataset("svhn", "SVHN", {"SVHN/train_32x32.mat": "e26dedcc434d2e4c54c9b2d4a06d8373",
                             "SVHN/test_32x32.mat": "eb5a983be6a315427106f1b164d9cef3"},
            ({"split": "train"}, {"split": "test"}), subfolder="SVHN", standin="svhn"),
]}


def get(name: str) -> Dataset:
    try:
        return DATASETS[name.lower()]
    except KeyError:
        raise SystemExit(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}") from None
