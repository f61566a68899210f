"""gradekit: release, run, grade and mark deep-learning notebook assignments."""

__version__ = "0.1.0"
