"""Typed errors the library raises for the CLI to turn into a one-line message and an exit code."""
from __future__ import annotations


class ProfileMismatch(ValueError):
    """`grade --profile X` on runs made with another profile: thresholds of one, evidence of the other."""
