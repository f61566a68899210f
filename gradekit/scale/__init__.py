"""Where a batch's submissions are processed: the local pool (threads on this machine, the default) or a
Dask cluster (`--cluster ADDRESS`, `--cluster local:N`). The batch code sees one seam, an executor that
runs calls and hands back results; gradekit.scale.remote wraps the same per-submission functions for a
worker, and gradekit.scale.transfer carries folders both ways and checks what comes back."""
