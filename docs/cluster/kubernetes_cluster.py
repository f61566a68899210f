"""Start a Dask cluster on Kubernetes for gradekit (dask-kubernetes' operator must be installed in the
cluster: `helm install --repo https://helm.dask.org dask-kubernetes-operator ...`), and print its address.

    python docs/cluster/kubernetes_cluster.py --image REGISTRY/gradekit:TAG --workers 4 --slots-per-gpu 4
    # then, with the scheduler reachable (kubectl port-forward svc/gradekit-scheduler 8786):
    gradekit run A --cluster tcp://localhost:8786 --device cuda --profile full

The image holds the course's Python environment (gradekit and its requirements, the same versions as
the client) and bubblewrap. Two persistent volume claims, mounted at the same paths in every worker and
on the client's machine: `gradekit-course` at /course (the course repository: graders, submissions) and
`gradekit-data` at /data (the data root, read-only for the workers). One worker per GPU, with
`--resources GPU=<slots>`: that many submissions train at once on it.
"""
from __future__ import annotations

import argparse
import time


def cluster_spec(image: str, workers: int = 1, slots_per_gpu: int = 4, name: str = "gradekit",
                 course: str = "/course", data_root: str = "/data", memory: str = "64Gi", cpus: int = 8) -> dict:
    from dask_kubernetes.operator import make_cluster_spec

    spec = make_cluster_spec(name=name, image=image, n_workers=workers, env={"DATA_ROOT": data_root},
                             resources={"limits": {"nvidia.com/gpu": 1, "memory": memory, "cpu": str(cpus)}},
                             worker_command="dask worker")
    volumes = [{"name": "course", "persistentVolumeClaim": {"claimName": "gradekit-course"}},
               {"name": "data", "persistentVolumeClaim": {"claimName": "gradekit-data", "readOnly": True}}]
    mounts = [{"name": "course", "mountPath": course}, {"name": "data", "mountPath": data_root, "readOnly": True}]
    worker = spec["spec"]["worker"]["spec"]
    container = worker["containers"][0]
    container["args"] += ["--nthreads", str(slots_per_gpu), "--resources", f"GPU={slots_per_gpu}"]
    container["volumeMounts"] = mounts
    container["workingDir"] = course
    # bubblewrap makes user, pid and mount namespaces: the container must be allowed to
    container["securityContext"] = {"capabilities": {"add": ["SYS_ADMIN"]}, "seccompProfile": {"type": "Unconfined"},
                                    "appArmorProfile": {"type": "Unconfined"}}
    container["env"] += [{"name": "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", "value": "False"}]
    worker["volumes"] = volumes
    scheduler = spec["spec"]["scheduler"]["spec"]["containers"][0]
    scheduler.pop("resources", None)     # the scheduler needs no GPU
    scheduler["env"] = [{"name": "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES", "value": "2"}]
    return spec


def main() -> None:
    from dask_kubernetes.operator import KubeCluster

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--slots-per-gpu", type=int, default=4)
    args = parser.parse_args()
    cluster = KubeCluster(custom_cluster_spec=cluster_spec(args.image, args.workers, args.slots_per_gpu))
    print(f"scheduler: {cluster.scheduler_address}\ndashboard: {cluster.dashboard_link}", flush=True)
    try:
        while True:
            time.sleep(60)
    except KeyboardInterrupt:
        cluster.close()


if __name__ == "__main__":
    main()
