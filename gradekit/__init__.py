"""gradekit: auto-graded deep-learning assignments (see README.md and docs/architecture.md)."""
import sys

__version__ = "0.1.0"

# jsonschema imports rfc3987-syntax for the "iri" string format when it is installed, and that import builds
# a parser for about 2 s (python-jsonschema/jsonschema#1521). nbformat's schema has no "iri" format, so every
# process of the kit that reads a notebook (the papermill runner, grading, the CLI) skips it: an import that
# finds None raises ImportError, which jsonschema expects.
sys.modules.setdefault("rfc3987_syntax", None)
