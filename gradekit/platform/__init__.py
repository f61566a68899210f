"""What every stage runs on, knowing no stage: the sandbox, the cgroup, the executors (local pool, Dask),
the transfer of work and results, atomic writes."""
