"""The instructor's side of an assignment: scaffold it (new), check it, release it, solve it."""
