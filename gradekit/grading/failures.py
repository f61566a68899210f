"""Why an item earned nothing. The message goes to the student: never put an expected value in it."""


class ItemFailed(Exception):
    """The submission's answer or artifact is wrong."""


class MissingArtifact(ItemFailed):
    """The notebook did not produce what the item needs."""


class BadArtifact(ItemFailed):
    """The artifact exists but has the wrong type, shape or format."""


class GraderProblem(Exception):
    """The grader or its machine cannot check the item (missing data, a grader bug): never the student's
    fault. The item needs attention from staff; any exception other than ItemFailed counts as one."""
