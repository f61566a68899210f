"""The course week around a batch: collect from the LMS, apply the late policy, manual marks, the mark
sheet and feedback, the upload files, the report."""
