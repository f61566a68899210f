"""Checks graders share: what an exported model computes and contains, and tolerant comparisons."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from gradekit.grading.failures import BadArtifact, ItemFailed
from gradekit.provided import graphfacts
from gradekit.grading.precision import SigFigs, Tolerance

if TYPE_CHECKING:   # torch is imported by the checks that use it: a grader without a model never pays for it
    import torch


def predict(module, X: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """Class predictions of an exported module on X, batch by batch, with a check of the output shape."""
    import torch

    preds = []
    with torch.no_grad():
        for i in range(0, len(X), batch):
            try:
                out = module(X[i:i + batch])
            except Exception as exc:
                raise BadArtifact(f"the model fails on input of shape {tuple(X[i:i + batch].shape)}: "
                                  f"{type(exc).__name__}: {str(exc)[:120]}") from None
            if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != len(X[i:i + batch]):
                raise BadArtifact(f"the model must return (N, classes) scores, got {getattr(out, 'shape', type(out).__name__)}")
            preds.append(out.argmax(1))
    return torch.cat(preds)


def accuracy(module, X: torch.Tensor, y: torch.Tensor) -> float:
    return (predict(module, X) == y).float().mean().item()


def parameter_count(exported) -> int:
    """Parameters (not buffers) of a torch.export program, counted from its own state."""
    names = exported.graph_signature.parameters
    return int(sum(exported.state_dict[n].numel() for n in names))


def reported_parameter_count(submission, qid: str, model: str, what: str | None = None) -> str:
    """Check the parameter count a student submitted as `qid` against their model `model`; when the model
    is missing (its training failed after the count was printed), the count alone is the evidence. Returns
    the note to give (empty when it was checked against the model); fails the item on a wrong count."""
    reported = submission.number(qid)
    what = what or f"the printed parameter count {reported:,.0f}"
    require(reported > 0 and reported == int(reported), f"{qid} ({reported:g}) is not a positive whole number")
    if not submission.submitted("model", model):
        return (f"{qid} graded from the printed count alone: {submission.missing('model', model)}, so it could not "
                "be checked against the model")
    actual = parameter_count(submission.exported(model))
    require(reported == actual, f"{what} is not the number of parameters of the submitted {model} ({actual:,})")
    return ""


def parameters(exported) -> dict[str, torch.Tensor]:
    return {n: exported.state_dict[n] for n in exported.graph_signature.parameters}


def uses_op(exported, fragment: str) -> bool:
    """Whether the program's graph calls an operator whose name contains `fragment` (e.g. 'conv')."""
    return any(node.op == "call_function" and fragment in str(node.target) for node in exported.graph.nodes)


def close(value: float, expected: float, rel: float = 1e-4, abs_: float = 1e-9) -> bool:
    """For values a computer gives; hand-worked values use agrees(value, expected, HAND_CALCULATION)."""
    return math.isclose(value, expected, rel_tol=rel, abs_tol=abs_)


def agrees(value: float, expected: float, precision: SigFigs | Tolerance) -> bool:
    """Whether `value` is `expected` to the precision the item asks for."""
    return precision.accepts(value, expected)


def require_agrees(values, expected, precision: SigFigs | Tolerance, what: str) -> None:
    """Fail unless every value agrees with its expected value; the reason names the precision, never a value."""
    values, expected = list(np.atleast_1d(values)), list(np.atleast_1d(expected))
    if len(values) != len(expected) or not all(precision.accepts(v, e) for v, e in zip(values, expected)):
        raise ItemFailed(f"{what} {'is' if len(expected) == 1 else 'are'} wrong (checked to {precision.describe()})")


def require(condition: bool, reason: str) -> None:
    """Fail the item with a reason for the student (no expected values in it)."""
    if not condition:
        raise ItemFailed(reason)


def changed_tensors(state: dict[str, torch.Tensor], pristine: dict[str, torch.Tensor],
                    ignore_prefixes: tuple[str, ...] = ()) -> list[str]:
    """Names of the tensors of `pristine` (outside `ignore_prefixes`) that `state` lacks or that differ
    bit for bit: BatchNorm running statistics count, so a backbone left in train mode shows up too."""
    import torch

    changed = []
    for name, tensor in pristine.items():
        if name.startswith(ignore_prefixes):
            continue
        other = state.get(name)
        if other is None or other.shape != tensor.shape or other.dtype != tensor.dtype or not torch.equal(other, tensor):
            changed.append(name)
    return changed


def parameter_shapes(exported) -> list[tuple[int, ...]]:
    """Shapes of the program's parameters, in the order the model registered them."""
    return [tuple(t.shape) for t in parameters(exported).values()]


def _conv_arguments(exported, index: int, name: str, default) -> list[tuple[int, ...]]:
    """One argument of every convolution in the program's graph, in the order they run, as a pair."""
    found = []
    for node in exported.graph.nodes:
        if node.op == "call_function" and "conv" in str(node.target):
            value = node.args[index] if len(node.args) > index else node.kwargs.get(name, default)
            found.append(tuple(value) if isinstance(value, (list, tuple)) else (value, value))
    return found


def conv_paddings(exported) -> list[tuple[int, ...]]:
    """The padding of every convolution, in the order they run (aten.conv2d's fifth argument)."""
    return _conv_arguments(exported, 4, "padding", (0, 0))


def conv_strides(exported) -> list[tuple[int, ...]]:
    """The stride of every convolution, in the order they run (aten.conv2d's fourth argument)."""
    return _conv_arguments(exported, 3, "stride", (1, 1))


def count_ops(exported, fragment: str) -> int:
    """How many calls in the program's graph go to an operator whose name contains `fragment` ('relu')."""
    return sum(node.op == "call_function" and fragment in str(node.target) for node in exported.graph.nodes)


def activations(exported) -> set[str]:
    """The activation functions the program applies, by aten name: {'relu'}, {'sigmoid'}, {'tanh'}, ..."""
    return graphfacts.activations(exported.graph)


def residual_adds(exported) -> int:
    """How many residual additions (two computed feature maps of one shape) the program makes."""
    return graphfacts.residual_adds(exported)
