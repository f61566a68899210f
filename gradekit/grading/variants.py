"""What graders know of a student's variant (the `variant` fixture): the student's own stored values, and the
other variants of the course, so that an answer copied from a classmate is told apart from a plain slip.

    @pytest.mark.item("q1.1.output", points=2)
    def test_output(submission, variant):
        answer = submission.number("q1.output")
        variant.require(lambda values: HAND_CALCULATION.accepts(answer, output(values)), "the network's output")
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from gradekit.course.variants import Variant
from gradekit.grading.failures import GraderProblem, ItemFailed
from gradekit.records import PRINTED_EXAMPLE as PRINTED


class OtherVariant(ItemFailed):
    """The answer is wrong for the student's own variant and right for another's: no points; `matches` (the
    classmate, or the printed example) is for staff, who see it in the mark sheet when several of a student's
    answers match the same other variant (one number can match by chance; several rarely do)."""

    def __init__(self, reason: str, matches: str):
        super().__init__(reason)
        self.matches = matches


@dataclass(frozen=True)
class VariantSheet:
    student: str
    seed: int
    values: dict
    others: dict[str, dict] = field(default_factory=dict)   # who -> values: the printed example and classmates

    @classmethod
    def of(cls, student: str, variants: dict[str, Variant], printed: Variant) -> "VariantSheet | None":
        own = variants.get(student)
        if own is None:
            return None
        others = {PRINTED: printed.values} if own.seed != printed.seed else {}
        others.update({s: v.values for s, v in sorted(variants.items()) if s != student})
        return cls(student, own.seed, own.values, others)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "VariantSheet | None":
        data = json.loads(text)
        return cls(**data) if data else None

    def require(self, agrees: Callable[[dict], bool], what: str, wrong: str = "") -> None:
        """Pass when the answer `agrees` with the student's own values. Else fail with `wrong` (default:
        '<what> is wrong for your variant'), or, when it agrees with another variant instead, fail and flag
        the item for staff."""
        if agrees(self.values):
            return
        match = next((who for who, values in self.others.items() if agrees(values)), None)
        if match == PRINTED:
            raise OtherVariant(f"{what} is right for the printed example's numbers, not for your variant (seed "
                               f"{self.seed})", match)
        if match is not None:   # the student's reason names nobody
            raise OtherVariant(f"{what} is wrong for your variant (seed {self.seed}) and right for other numbers "
                               f"than yours: use your own", match)
        raise ItemFailed(wrong or f"{what} is wrong for your variant (seed {self.seed})")


def no_variant(assignment: str) -> GraderProblem:
    return GraderProblem(f"{assignment}: the graders ask for the student's variant, but no stored variant was "
                         f"given (does assignment.toml declare [variants]? was the run made before it?)")
