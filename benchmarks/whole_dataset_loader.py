"""One training epoch of HW2's FashionMNIST MLP, fed two ways side by side in one run: torchvision's dataset
through a DataLoader (the transform re-run and every batch copied each epoch), and the students' helper's
whole-dataset path (`as_tensors` once, then `batches` sliced on the device).

    DATA_ROOT=data python benchmarks/whole_dataset_loader.py [--device cpu|cuda] [--epochs 2] [--batch 128]

Prints seconds per epoch for each path (the one-off `as_tensors` apart) and the speed-up.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
import torchvision.transforms as T
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gradekit" / "provided"))
from gradekit_data import as_tensors, batches, load_dataset  # noqa: E402


def model(device: str) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)).to(device)


def epoch(net, optimiser, pairs, device: str) -> float:
    started = time.perf_counter()
    for xb, yb in pairs:
        xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        optimiser.zero_grad()
        nn.functional.cross_entropy(net(xb), yb).backward()
        optimiser.step()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    root = os.environ.get("DATA_ROOT", "data")
    train = load_dataset("FashionMNIST", root, train=True, transform=T.ToTensor())
    torch.manual_seed(0)
    net = model(args.device)
    optimiser = torch.optim.SGD(net.parameters(), lr=0.1)
    loader = torch.utils.data.DataLoader(train, batch_size=args.batch, shuffle=True, pin_memory=args.device == "cuda")
    loader_s = [epoch(net, optimiser, loader, args.device) for _ in range(args.epochs)]
    started = time.perf_counter()
    X, y = as_tensors(train, args.device)
    once_s = time.perf_counter() - started
    generator = torch.Generator(device=args.device).manual_seed(0)
    tensor_s = [epoch(net, optimiser, batches(X, y, args.batch, generator=generator), args.device) for _ in range(args.epochs)]
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    print(f"device {args.device}, {len(train)} images, batch {args.batch}, {args.epochs} epochs each, "
          f"{torch.get_num_threads()} threads")
    print(f"DataLoader:            {mean(loader_s):6.2f} s per epoch")
    print(f"as_tensors + batches:  {mean(tensor_s):6.2f} s per epoch (+ {once_s:.2f} s once to build the tensors)")
    print(f"speed-up per epoch:    {mean(loader_s) / mean(tensor_s):6.1f}x")


if __name__ == "__main__":
    main()
