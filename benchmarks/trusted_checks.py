"""What the trusted side's checks cost per submission, side by side with the unchecked reads they replace:

  model load        gradekit.grading.pt2.load (checked, rebuilt, guarded) vs torch.export.load, for an
                    MLP of EE046211 HW2's task 2 (784-512-256-10) and a small CNN (task 3's shape)
  answers           untrusted.read_json (no links, no pipes, bounded, depth-checked) vs json.loads(read_text())
  arrays            untrusted.load_npz (bounded zip, numbers only) vs np.load(allow_pickle=False)
  publish           run.publish.enforce on a run folder of 20 artifacts (lstat walk, regular files, counts)
  cluster result    scale.transfer.unpack (bounded decompression, two passes) vs tarfile.extractall

    python benchmarks/trusted_checks.py [--repeat 20]
"""
from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from gradekit.grading import pt2
from gradekit.course.limits import Limits
from gradekit.run.publish import enforce
from gradekit.platform import transfer
from gradekit.platform.untrusted import load_npz, read_json


def _timed(fn, repeat: int) -> float:
    fn()   # warm: imports and first-call set-up are not the check's cost
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _exported(model: torch.nn.Module, example: torch.Tensor, path: Path) -> bytes:
    batch = torch.export.Dim("batch", min=1, max=1 << 16)
    program = torch.export.export(model.eval(), (example,), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(path))
    return path.read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gk-bench-"))
    rows = []
    mlp = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 256),
                              torch.nn.ReLU(), torch.nn.Linear(256, 10))
    cnn = torch.nn.Sequential(torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.BatchNorm2d(32), torch.nn.ReLU(),
                              torch.nn.MaxPool2d(2), torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.BatchNorm2d(64),
                              torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(64, 10))
    for name, model, example in (("MLP 784-512-256-10", mlp, torch.rand(4, 1, 28, 28)),
                                 ("CNN 2 conv + BN", cnn, torch.rand(4, 3, 32, 32))):
        data = _exported(model, example, work / f"{name[:3]}.pt2")
        checked = _timed(lambda: pt2.load(data, "m", 1 << 30), args.repeat)
        plain = _timed(lambda: torch.export.load(io.BytesIO(data)), args.repeat)
        rows.append((f"model load: {name} ({len(data) >> 10} KB)", checked, plain))

    answers = work / "answers.json"
    answers.write_text(json.dumps({f"q{i}.part": [float(j) for j in range(20)] for i in range(100)}))
    rows.append(("answers.json (100 answers)", _timed(lambda: read_json(answers, 16 << 20), args.repeat),
                 _timed(lambda: json.loads(answers.read_text()), args.repeat)))

    buffer = io.BytesIO()
    np.savez_compressed(buffer, images=np.random.rand(64, 3, 32, 32).astype(np.float32), labels=np.arange(64))
    npz = buffer.getvalue()

    def plain_npz():
        with np.load(io.BytesIO(npz), allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    rows.append((f"arrays .npz ({len(npz) >> 10} KB)", _timed(lambda: load_npz(npz, "a"), args.repeat),
                 _timed(plain_npz, args.repeat)))

    folder = work / "run"
    (folder / "artifacts").mkdir(parents=True)
    for i in range(20):
        (folder / "artifacts" / f"a{i}.bin").write_bytes(b"x" * 50_000)
    rows.append(("publish checks (20 artifacts)", _timed(lambda: enforce(folder, Limits()), args.repeat), 0.0))

    packed = transfer.pack(folder)

    def checked_unpack():
        shutil.rmtree(work / "u1", ignore_errors=True)
        transfer.unpack(packed, work / "u1", 1 << 30)

    def plain_unpack():
        shutil.rmtree(work / "u2", ignore_errors=True)
        with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as tar:
            tar.extractall(work / "u2", filter="data")
    rows.append((f"cluster result ({len(packed) >> 10} KB packed)", _timed(checked_unpack, args.repeat),
                 _timed(plain_unpack, args.repeat)))

    print(f"{'what':<44}{'checked ms':>12}{'unchecked ms':>14}{'added ms':>10}")
    for what, checked, plain in rows:
        print(f"{what:<44}{checked:>12.2f}{plain:>14.2f}{checked - plain:>10.2f}")
    print(f"per submission (two models, answers, arrays, publish, result): "
          f"{sum(c - p for _, c, p in rows):.1f} ms added")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
