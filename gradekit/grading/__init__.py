"""Everything a grader author uses, in one import (the contract is written out in docs/graders.md):

    from gradekit.grading import item, require, agrees, HAND_CALCULATION, accuracy

Graders are pytest tests run by gradekit.grading.plugin in a process of their own that reads the run's
artifacts and never imports student code. Fixtures arrive by name: submission, credit, student_code,
datasets, test_split, provenance, data_root, profile, seed, run_dir.
"""
import pytest

from gradekit.grading.artifacts import Lazy, SubmissionArtifacts
from gradekit.grading.checks import (accuracy, activations, agrees, changed_tensors, close, conv_paddings, conv_strides, count_ops,
                                     parameter_count, parameter_shapes, parameters, predict, reported_parameter_count, require,
                                     require_agrees,
                                     residual_adds, uses_op)
from gradekit.grading.occlusion import reference_occlusion_map, small_exported_cnn
from gradekit.grading.data import GraderData
from gradekit.grading.failures import BadArtifact, GraderProblem, ItemFailed, MissingArtifact
from gradekit.grading.plugin import Credit
from gradekit.grading.precision import HAND_CALCULATION, SigFigs, Tolerance
from gradekit.grading.student_code import StudentCode, expect_array

item = pytest.mark.item   # @item("q2.mse", points=2): the mark-sheet item a test grades

__all__ = ["item", "require", "agrees", "require_agrees", "close", "HAND_CALCULATION", "SigFigs", "Tolerance",
           "accuracy", "activations", "residual_adds", "predict", "parameter_count", "reported_parameter_count", "parameters", "parameter_shapes", "uses_op", "conv_paddings",
           "conv_strides", "count_ops", "reference_occlusion_map", "small_exported_cnn",
           "changed_tensors", "expect_array", "ItemFailed", "MissingArtifact", "BadArtifact", "GraderProblem",
           "Credit", "Lazy", "SubmissionArtifacts", "StudentCode", "GraderData"]
