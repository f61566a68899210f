"""Grading: pytest in a process of its own that reads artifacts and never imports student code."""
