"""What each dataset or pretrained-weights file is on disk, how to check it and how to fetch it.
Generic knowledge only; which assignment uses what is in its assignment.toml.

Three kinds:
- torchvision: the files a torchvision dataset class reads, with torchvision's own md5s.
- folder: a folder of files (an archive's contents), checked by one digest over the whole tree.
- weights: a model's pretrained state_dict, checked as torchvision checks it (sha256 prefix in the name).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Dataset:
    name: str                      # id used in assignment.toml and on the command line
    kind: str = "torchvision"      # torchvision | folder | weights
    torchvision_name: str = ""     # torchvision: class in torchvision.datasets; weights: model in torchvision.models
    files: dict[str, str] = field(default_factory=dict)  # torchvision: path under DATA_ROOT -> md5
    fetch_kwargs: tuple[dict, ...] = ()                    # torchvision: one loader call per split
    subfolder: str = ""            # root handed to torchvision / the folder / the weights file, under DATA_ROOT
    tree_md5: str = ""             # folder: digest of the tree (gradekit.data.store.tree_md5)
    url: str = ""                  # folder: a zip to download; weights: the file
    standin: str | None = None     # name of the function in gradekit.data.synth that writes a stand-in

    @property
    def manifest_key(self) -> str:
        """The name this dataset has in DATA_ROOT/STANDINS.json (what the students' helper asks for)."""
        return self.torchvision_name or self.name


_MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

DATASETS = {d.name: d for d in [
    Dataset("mnist", torchvision_name="MNIST", files=dict(zip([f"MNIST/raw/{f}" for f in _MNIST_FILES], [
        "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
        "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"])),
        fetch_kwargs=({"train": True}, {"train": False})),
    Dataset("fashionmnist", torchvision_name="FashionMNIST", files=dict(zip([f"FashionMNIST/raw/{f}" for f in _MNIST_FILES], [
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
        "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"])),
        fetch_kwargs=({"train": True}, {"train": False})),
    Dataset("svhn", torchvision_name="SVHN", files={"SVHN/train_32x32.mat": "e26dedcc434d2e4c54c9b2d4a06d8373",
                                                     "SVHN/test_32x32.mat": "eb5a983be6a315427106f1b164d9cef3"},
            fetch_kwargs=({"split": "train"}, {"split": "test"}), subfolder="SVHN", standin="svhn"),
    # PyTorch's data-loading tutorial: 69 faces (dlib landmarks on ImageNet photos) and face_landmarks.csv
    Dataset("faces", kind="folder", subfolder="faces", tree_md5="dde6743781bfd65c5641d8277db49fdb",
            url="https://download.pytorch.org/tutorial/faces.zip"),
    # photos for occlusion sensitivity: scikit-image's chelsea, coffee, astronaut, rocket; matplotlib's grace_hopper
    Dataset("photos", kind="folder", subfolder="images", tree_md5="37b91ed9f42e5123207ef109451d7ef6"),
    # ImageNet ResNet18 (torchvision's IMAGENET1K_V1); the digest prefix in the name is sha256's
    Dataset("resnet18", kind="weights", torchvision_name="resnet18", subfolder="weights/resnet18-f37072fd.pth",
            url="https://download.pytorch.org/models/resnet18-f37072fd.pth", standin="resnet18"),
]}


def get(name: str) -> Dataset:
    try:
        return DATASETS[name.lower()]
    except KeyError:
        raise SystemExit(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}") from None
