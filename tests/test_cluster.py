"""Grading on a Dask cluster: the same marks as the local pool, a worker killed mid-task, a worker whose
data root is missing, a tampered result, and the GPU-slot request."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from conftest import REPO, TINY, gradekit, tiny_course

STUDENTS = ["h00_honest", "h03_os_exit"]


def sheet(course: Path) -> str:
    return (course / "marks" / "tiny.csv").read_text()


@pytest.fixture(scope="module")
def pool_and_cluster(tmp_path_factory):
    """The tiny course graded by a `local:2` Dask cluster (the local pool's marks of the same students are
    the hostile batch's expected.json, which the slow lane checks on the pool)."""
    import dask as dask_config
    from distributed import LocalCluster

    from gradekit.platform.executors import LEAN_WORKERS

    base = tmp_path_factory.mktemp("cluster")
    dask, data = tiny_course(base / "dask", STUDENTS)
    # one cluster for both stages, as a course's would be (`local:N` is the rerun test's)
    with dask_config.config.set(LEAN_WORKERS), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        gradekit("run", "tiny", "--cluster", cluster.scheduler_address, "--data-root", str(data), cwd=dask)
        gradekit("grade", "tiny", "--cluster", cluster.scheduler_address, "--data-root", str(data), cwd=dask)
        gradekit("marks", "tiny", cwd=dask)
    return None, dask, data


def test_a_dask_cluster_gives_the_local_pools_marks(pool_and_cluster):
    _, dask, _ = pool_and_cluster
    expected = json.loads((TINY / "expected.json").read_text())
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(sheet(dask)))}
    for student in STUDENTS:
        want, row = expected[student], rows[student]
        assert (row["run_status"], row["tiny.answer"], row["tiny.double"]) == (
            want["status"], str(want["answer"]), str(want["double"])), row
        assert want.get("reason", "") in row["notes"], row["notes"]
    run = json.loads((dask / "autograded" / "h00_honest" / "tiny" / "run.json").read_text())
    assert run["status"] == "ok" and run["cost"]["wall_s"] > 0 and run["cost"]["cpu_s"] > 0
    assert run["cost"]["peak_memory_mb"] > 10 and "gpu_s" not in run["cost"]   # no GPU here
    assert not list((dask / "autograded").glob("*/.tiny.incoming")), "published in one rename, nothing left beside"


def test_a_rerun_on_the_cluster_skips_what_was_published(pool_and_cluster):
    _, dask, data = pool_and_cluster
    out = gradekit("run", "tiny", "--cluster", "local:1", "--data-root", str(data), cwd=dask)
    assert "Dask at" in out.stdout and "h00_honest:" not in out.stdout, "published runs are not run again"
    assert "1 kernel died, 1 ok" in out.stdout   # the summary counts the skipped runs' outcomes
    assert "2 unchanged since their last run, not run again" in out.stdout


@pytest.mark.slow   # 33 s
def test_a_worker_killed_mid_task_is_retried_elsewhere(tmp_path):
    import dask
    from distributed import Client, LocalCluster

    course, data = tiny_course(tmp_path / "course", STUDENTS)
    sleeper = course / "submitted" / "sleeper" / "tiny"
    shutil.copytree(course / "submitted" / "h00_honest" / "tiny", sleeper)
    notebook = sleeper / "tiny.ipynb"
    notebook.write_text(notebook.read_text().replace("def double(x):", "import time\\ntime.sleep(6)\\ndef double(x):"))
    with dask.config.set({"distributed.scheduler.allowed-failures": 2}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        batch = subprocess.Popen([sys.executable, "-m", "gradekit.cli", "run", "tiny", "--cluster", cluster.scheduler_address,
                                  "--data-root", str(data)], cwd=course, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        killed = None
        deadline = time.time() + 60
        while killed is None and time.time() < deadline:
            for worker, keys in client.processing().items():
                if any("sleeper" in k for k in keys):
                    time.sleep(2)   # mid-task: the notebook is sleeping in its sandbox
                    pid = client.run(os.getpid, workers=[worker])[worker]
                    os.kill(pid, signal.SIGKILL)
                    killed = worker
            time.sleep(0.2)
        out, _ = batch.communicate(timeout=180)
    assert killed is not None, "the sleeper's task was never seen running"
    assert batch.returncode == 0, out
    gradekit("grade", "tiny", "--jobs", "2", "--data-root", str(data), cwd=course)
    gradekit("marks", "tiny", cwd=course)
    rows = {line.split(",")[0]: line for line in sheet(course).splitlines()}
    assert rows["sleeper"].startswith("sleeper,ok,smoke,2,2,4"), rows["sleeper"]
    assert rows["h00_honest"].startswith("h00_honest,ok,smoke,2,2,4") and rows["h03_os_exit"].startswith("h03_os_exit,kernel died")


def test_a_worker_without_the_data_refuses_with_the_preflights_reason(tmp_path, capsys):
    from gradekit.batch.driver import drive
    from gradekit.batch.settings import Settings
    from gradekit.course import Course
    from gradekit.platform.executors import DaskExecutor
    from gradekit.run.stage import RunStage

    course, _ = tiny_course(tmp_path / "course", ["h00_honest"])
    assignment = Course(course).assignment("tiny")
    executor = DaskExecutor("local:1")
    try:
        stage = RunStage(assignment, Settings(tmp_path / "no-data-here"), assignment.folders())
        results = drive(stage, stage.students(), executor)
    finally:
        executor.close()
    captured = capsys.readouterr()
    err = captured.out + captured.err
    assert "h00_honest: worker tcp://" in err and "trying another worker" in err, err
    record = results["h00_honest"]   # refused twice: the student keeps a row with the reason, never a zero
    assert record.status == "sandbox refused" and "no worker could run it" in record.reason
    assert "tally" in record.reason and "gradekit data fetch" in record.reason, record.reason
    assert json.loads((course / "autograded" / "h00_honest" / "tiny" / "run.json").read_text())["input_sha256"] == ""


@pytest.mark.slow   # a refused run through grade and marks: seconds the fast lane does not have
def test_a_run_no_worker_could_take_needs_attention_and_keeps_its_row(tmp_path):
    from gradekit.records import RunRecord

    course, data = tiny_course(tmp_path / "course", ["h00_honest"])
    folder = course / "autograded" / "h00_honest" / "tiny"
    folder.mkdir(parents=True)
    RunRecord("h00_honest", "tiny", status="sandbox refused", profile="smoke",
              reason="no worker could run it (tcp://w: the data root does not exist)").save(folder)
    gradekit("grade", "tiny", "--data-root", str(data), cwd=course)
    grade = json.loads((folder / "grade.json").read_text())
    assert grade["items"] == [] and "the run did not complete on our side" in grade["grading_error"]
    marks = gradekit("marks", "tiny", cwd=course, check=False)
    assert marks.returncode == 1 and "NEEDS ATTENTION" in marks.stdout, marks.stdout
    row = next(r for r in csv.DictReader((course / "marks" / "tiny.csv").open()) if r["student"] == "h00_honest")
    assert row["run_status"] == "sandbox refused" and "no worker could run it" in row["notes"] and row["final"] == ""


def _tar(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buffer.getvalue()


def test_a_tampered_result_is_refused_and_nothing_is_published(tmp_path):
    from gradekit.platform.transfer import TamperedResult, publish

    dest = tmp_path / "autograded" / "s" / "tiny"
    dest.mkdir(parents=True)
    (dest / "run.json").write_text("before")
    link = tarfile.TarInfo("artifacts/answers.json")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    cases = {"a link or a device": [(link, b"")],
             "outside the student's folder": [(tarfile.TarInfo("../../marks/tiny.csv"), b"pwned")],
             "passes the output budget": [(tarfile.TarInfo("artifacts/big.bin"), b"x" * 4096)]}
    for why, members in cases.items():
        with pytest.raises(TamperedResult, match=why):
            publish(_tar(members), dest, budget_bytes=1024)
        assert (dest / "run.json").read_text() == "before" and not (tmp_path / "autograded" / "marks").exists()
    with pytest.raises(TamperedResult, match="not a readable result"):
        publish(b"not a tar", dest, budget_bytes=1024)
    publish(_tar([(tarfile.TarInfo("run.json"), b"after")]), dest, budget_bytes=1024)
    assert (dest / "run.json").read_text() == "after" and not list(dest.parent.glob(".tiny.*"))


def test_the_local_publish_drops_links_and_oversized_outputs(tmp_path):
    from gradekit.course.limits import Limits
    from gradekit.run.publish import enforce

    folder = tmp_path / "staging"
    (folder / "artifacts").mkdir(parents=True)
    (folder / "artifacts" / "answers.json").symlink_to("/etc/passwd")
    (folder / "artifacts" / "big.bin").write_bytes(b"x" * (11 << 20))
    warnings = enforce(folder, Limits(output_mb=1))
    assert "not a regular file (a link, pipe, socket or device) was dropped: artifacts/answers.json" in warnings[0]
    assert "10 MB (`disk_mb`)" in warnings[1] and list((folder / "artifacts").iterdir()) == []


def test_gpu_submissions_ask_for_a_gpu_slot_where_workers_offer_them():
    from gradekit.platform.executors import Call, DaskExecutor

    executor = DaskExecutor("local:1", gpu_slots=2)
    try:
        assert executor.gpu_offered and executor.width == 2
        seen = []
        calls = [Call(f"s{i}", time.sleep, (1.0,), needs=(("GPU", 1), ("MEMORY", 4000))) for i in range(4)]
        started = time.time()
        results = list(executor.results(calls, seen.append))
        assert len(results) == 4 and 1.9 < time.time() - started < 4.5   # two at a time on the one worker
        assert executor.offered == {"GPU"}, "MEMORY is asked for only where a worker offers it (else it would wait)"
    finally:
        executor.close()


def test_the_slurm_recipe_writes_a_gpu_job_script():
    sys.path.insert(0, str(REPO / "docs" / "cluster"))
    from slurm_cluster import make_cluster

    cluster = make_cluster(course=Path("/shared/course"), data_root=Path("/shared/data"), partition="gpu",
                           gpus_per_worker=1, slots_per_gpu=4, workers=0)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH -p gpu" in script and "#SBATCH --gres=gpu:1" in script
    assert "--resources GPU=4" in script and "--nthreads 4" in script and "DATA_ROOT=/shared/data" in script


def test_the_kubernetes_recipe_gives_each_worker_a_gpu_its_slots_and_the_shared_folders():
    sys.path.insert(0, str(REPO / "docs" / "cluster"))
    from kubernetes_cluster import cluster_spec

    spec = cluster_spec("registry.example/gradekit:1", workers=3, slots_per_gpu=4)
    worker = spec["spec"]["worker"]
    container = worker["spec"]["containers"][0]
    assert worker["replicas"] == 3 and container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["args"][-4:] == ["--nthreads", "4", "--resources", "GPU=4"]
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/course", "/data"}
    assert "resources" not in spec["spec"]["scheduler"]["spec"]["containers"][0]


@pytest.mark.slow   # 3 s: a course and its data root (the fast lane keeps under two minutes)
def test_a_refused_result_is_a_refusal_to_retry_and_a_failed_runner_keeps_the_row(tmp_path):
    """What the client makes of a worker's answer: a result that breaks the publish rules is a refusal
    (run again elsewhere, then reported); a runner that failed leaves a record on the student's row."""
    from gradekit.batch.settings import Settings
    from gradekit.course import Course
    from gradekit.platform.executors import Failed, Refused
    from gradekit.run.stage import RunStage

    course, data = tiny_course(tmp_path / "course", ["h00_honest"])
    assignment = Course(course).assignment("tiny")
    stage = RunStage(assignment, Settings(data), assignment.folders())
    assert stage.settled("h00_honest") is None
    job = stage.jobs["h00_honest"]
    refused = stage.take("h00_honest", ({"student": "h00_honest"}, b"not a tar", "tcp://10.0.0.9:1234"))
    assert isinstance(refused, Refused) and refused.worker == "tcp://10.0.0.9:1234" and "not a readable" in refused.reason
    assert not job.dest.exists(), "nothing of a refused result is published"
    failed = stage.unavailable("h00_honest", Failed("OSError: disk full"))
    assert failed.status == "sandbox refused" and "disk full" in failed.reason
    assert json.loads((job.dest / "run.json").read_text())["status"] == "sandbox refused"
