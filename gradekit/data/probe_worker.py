"""Runs inside the sandbox, beside the students' helper and the manifest: open every dataset exactly as a
notebook would, with DATA_ROOT read-only, and write what failed to probe_result.json. Standalone: the
engine is not visible inside the sandbox."""
import json
import sys
import warnings
from pathlib import Path

import gradekit_data as gd


def probe(name: str, entry: dict, root: Path, splits: list[dict]) -> None:
    kind = entry["kind"]
    if kind == "torchvision":
        for kwargs in splits or [{}]:
            dataset = gd.load_dataset(name, root, download=False, **kwargs)
            if len(dataset) == 0:
                raise ValueError(f"split {kwargs} is empty")
            dataset[0]
    elif kind == "weights":
        import torch

        torch.load(gd.pretrained_weights(name, root), map_location="cpu", weights_only=True)
    else:
        base = gd.dataset_path(name, root) if kind == "folder" else None
        paths = [p for p in base.rglob("*") if p.is_file()] if base else [root / f for f in entry["files"]]
        if not paths:
            raise FileNotFoundError(f"{base} holds no files")
        for path in paths:
            with open(path, "rb") as f:
                f.read(1)


def main() -> None:
    spec = json.loads(Path("probe.json").read_text())
    gd.use_manifest(spec["manifest"])
    root, failed = Path(spec["root"]), {}
    for name, entry in spec["manifest"].items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # stand-ins say so; that is not a failure
                probe(name, entry, root, spec["splits"].get(name, []))
        except Exception as exc:
            failed[name] = f"{type(exc).__name__}: {str(exc)[:300]}"
    Path(spec["result"]).write_text(json.dumps(failed))


if __name__ == "__main__":
    sys.exit(main())
