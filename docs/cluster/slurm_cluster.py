"""Start Dask workers on a SLURM GPU partition for gradekit, and print the scheduler's address.

    python docs/cluster/slurm_cluster.py --course /shared/course --data-root /shared/data \
        --partition gpu --workers 4 --slots-per-gpu 4
    # then, from the course folder, in another shell:
    gradekit run A --cluster tcp://<printed address> --device cuda --profile full
    gradekit grade A --cluster tcp://<printed address> --profile full

One SLURM job per GPU, each holding one Dask worker with `--resources GPU=<slots>`: that many submissions
train at once on its GPU (SLURM sets CUDA_VISIBLE_DEVICES for the job; gradekit's sandbox passes it on).
The course folder (graders, submissions) and the data root must be on a filesystem every node mounts at
the same path. The script keeps running (and the jobs with it) until you stop it.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path


def make_cluster(course: Path, data_root: Path, partition: str, gpus_per_worker: int = 1, slots_per_gpu: int = 4,
                 workers: int = 1, memory: str = "64GB", cores: int = 8, walltime: str = "04:00:00",
                 python: str | None = None):
    from dask_jobqueue import SLURMCluster

    cluster = SLURMCluster(
        queue=partition,
        cores=slots_per_gpu, processes=1,          # one worker per job, one thread per submission slot
        memory=memory,
        walltime=walltime,
        job_cpu=cores,                              # the CPUs the job holds (data loading, the kernels' threads)
        job_extra_directives=[f"--gres=gpu:{gpus_per_worker}"],
        worker_extra_args=["--resources", f"GPU={slots_per_gpu * gpus_per_worker}"],
        job_script_prologue=[f"export DATA_ROOT={data_root}", f"cd {course}"],
        python=python,
        scheduler_options={"dashboard_address": ":8787"},
    )
    if workers:
        cluster.scale(jobs=workers)
    return cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, required=True)
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--partition", default="gpu")
    parser.add_argument("--workers", type=int, default=1, help="SLURM jobs, one GPU each")
    parser.add_argument("--slots-per-gpu", type=int, default=4)
    parser.add_argument("--memory", default="64GB")
    parser.add_argument("--cores", type=int, default=8)
    parser.add_argument("--walltime", default="04:00:00")
    args = parser.parse_args()
    cluster = make_cluster(args.course, args.data_root, args.partition, 1, args.slots_per_gpu, args.workers,
                           args.memory, args.cores, args.walltime)
    print(cluster.job_script())
    print(f"scheduler: {cluster.scheduler_address}\ndashboard: {cluster.dashboard_link}", flush=True)
    try:
        while True:
            time.sleep(60)
    except KeyboardInterrupt:
        cluster.close()


if __name__ == "__main__":
    main()
