"""Everything a grader author uses, in one import (the contract is written out in docs/graders.md):

    from gradekit.grading import item, require, agrees, HAND_CALCULATION, accuracy

Graders are pytest tests run by gradekit.grading.plugin in a process of their own that reads the run's
artifacts and never imports student code. Fixtures arrive by name: submission, credit, student_code,
datasets, test_split, provenance, data_root, profile, seed, run_dir, assignment.

Names are imported when first used: a grader that checks a number never pays for importing torch.
"""
import importlib

import pytest

item = pytest.mark.item   # @item("q2.mse", points=2): the mark-sheet item a test grades

_WHERE = {
    "gradekit.grading.artifacts": ("Lazy", "SubmissionArtifacts"),
    "gradekit.grading.checks": ("accuracy", "activations", "agrees", "changed_tensors", "close", "conv_paddings",
                                "conv_strides", "count_ops", "parameter_count", "parameter_shapes", "parameters",
                                "predict", "reported_parameter_count", "require", "require_agrees", "residual_adds",
                                "uses_op"),
    "gradekit.grading.occlusion": ("reference_occlusion_map", "small_exported_cnn"),
    "gradekit.grading.data": ("GraderData",),
    "gradekit.grading.failures": ("BadArtifact", "GraderProblem", "ItemFailed", "MissingArtifact"),
    "gradekit.grading.plugin": ("Credit",),
    "gradekit.grading.precision": ("HAND_CALCULATION", "SigFigs", "Tolerance"),
    "gradekit.grading.student_code": ("StudentCode", "expect_array"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}

__all__ = ["item", *_MODULE_OF]


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'gradekit.grading' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
