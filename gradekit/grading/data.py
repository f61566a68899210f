"""The graders' view of the assignment's declared datasets: provenance, paths, pretrained weights and
the graders' own copy of a test split. A dataset that is missing here is the machine's fault, never the
student's: the item needs attention (GraderProblem)."""
from __future__ import annotations

import warnings
from pathlib import Path

from gradekit.data import store
from gradekit.data.catalog import Catalog
from gradekit.grading.failures import GraderProblem
from gradekit.provided import gradekit_data


class GraderData:
    def __init__(self, catalog: Catalog, root: Path):
        self.catalog, self.root = catalog, root
        self._splits: dict[str, tuple] = {}
        gradekit_data.use_manifest(catalog.manifest())

    def provenance(self, name: str) -> str:
        """'real', 'rebuilt', 'standin' or 'missing: ...'."""
        return store.provenance(self.catalog.get(name), self.root)

    def require(self, name: str) -> str:
        state = self.provenance(name)
        if state.startswith("missing"):
            raise GraderProblem(f"dataset {name} is not under the graders' data root {self.root} ({state})")
        return state

    def is_standin(self, name: str) -> bool:
        return self.require(name) == store.STANDIN

    def smoke_note(self, name: str) -> str:
        """' [stand-in NAME: smoke mark]' when the item is graded on a stand-in, else ''."""
        return f" [stand-in {name}: smoke mark]" if self.is_standin(name) else ""

    def path(self, name: str) -> Path:
        self.require(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return gradekit_data.dataset_path(name, self.root)

    def pretrained_state(self, name: str) -> dict:
        import torch

        self.require(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the stand-in's warning; provenance is reported on the item
            return torch.load(gradekit_data.pretrained_weights(name, self.root), map_location="cpu", weights_only=True)

    def load(self, name: str, **kwargs):
        """The torchvision dataset as the students' helper loads it (stand-in or real), e.g. split="train"."""
        self.require(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return gradekit_data.load_dataset(name, self.root, download=False, **kwargs)

    def test_split(self, name: str):
        """(X, y): the declared test split, images as ToTensor() gives them ((N, C, H, W) floats in
        [0, 1]), labels as class indices; loaded once per grading process."""
        if name not in self._splits:
            self._splits[name] = self._load_split(self.catalog.get(name))
        return self._splits[name]

    def _load_split(self, dataset):
        import torch
        import torchvision.transforms as T

        self.require(dataset.name)
        if isinstance(dataset.test_split, str):  # the declaration's own function
            return dataset.function(dataset.test_split)(self.root, dataset)
        if dataset.kind != "torchvision":
            raise GraderProblem(f"dataset {dataset.name} declares no test_split")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            split = gradekit_data.load_dataset(dataset.name, self.root, download=False, transform=T.ToTensor(),
                                               **dataset.test_split)
        images, labels = zip(*(split[i] for i in range(len(split))))
        return torch.stack(images), torch.tensor([int(y) for y in labels])
