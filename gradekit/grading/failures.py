"""Why an item earned nothing. The message goes to the student: never put an expected value in it."""


class ItemFailed(Exception):
    """The submission's answer or artifact is wrong."""


class MissingArtifact(ItemFailed):
    """The notebook did not produce what the item needs."""


class BadArtifact(ItemFailed):
    """The artifact exists but has the wrong type, shape or format."""
