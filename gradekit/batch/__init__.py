"""One batch driver for every stage (run, grade): the settings of a batch, the stage protocol, the progress
bar, the retry of a refused call, the worker's preflight on a cluster."""
