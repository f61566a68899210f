"""How close a numerical answer must be. A grader states the precision its item asks for; the release
states the same to students.

Hand-worked values: `SigFigs(3)` accepts a value within one unit of the third significant figure of the
true value, so a correctly rounded (0.987) and a truncated (0.986) hand result of 0.98661 both pass and
0.98 does not. Values a computer gives: `Tolerance(rel=..., abs=...)`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SigFigs:
    figures: int = 3
    zero: float = 1e-9     # when the true value is 0, a hand calculation gives 0: allow only rounding noise

    def unit(self, expected: float) -> float:
        """One unit of the last significant figure asked for."""
        return 10.0 ** (math.floor(math.log10(abs(expected))) - self.figures + 1)

    def accepts(self, value: float, expected: float) -> bool:
        if expected == 0:
            return abs(value) <= self.zero
        return abs(value - expected) <= self.unit(expected) * (1 + 1e-9)

    def describe(self) -> str:
        return f"{self.figures} significant figures"


@dataclass(frozen=True)
class Tolerance:
    rel: float = 1e-4
    abs: float = 1e-9

    def accepts(self, value: float, expected: float) -> bool:
        return math.isclose(value, expected, rel_tol=self.rel, abs_tol=self.abs)

    def describe(self) -> str:
        return f"relative error at most {self.rel:g}" + (f" (absolute {self.abs:g})" if self.abs > 1e-9 else "")


HAND_CALCULATION = SigFigs(3)
