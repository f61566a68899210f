"""The trusted side against what a student can craft (SECURITY.md, "What a submission may send back"):
artifacts that run code when loaded, files that are links, pipes or bombs, a call worker that lies on its
protocol, results a cluster worker sends back, and text that would run in a person's browser, terminal
or spreadsheet. Each test first shows the attack works on the naive reader where that is cheap to show."""
from __future__ import annotations

import io
import json
import os
import socket
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

import hostile_artifacts as craft
from gradekit.grading.artifacts import SubmissionArtifacts
from gradekit.grading.failures import BadArtifact, ItemFailed


@pytest.fixture(scope="module")
def honest(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pt2") / "honest.pt2"
    craft.honest_pt2(path)
    return path


def _run_dir(tmp_path: Path, files: dict[str, bytes]) -> SubmissionArtifacts:
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "run.json").write_text(json.dumps({"status": "ok"}))
    for name, data in files.items():
        (tmp_path / "artifacts" / name).write_bytes(data)
    return SubmissionArtifacts(tmp_path)


def test_an_honest_model_loads_and_computes_what_torch_computes(tmp_path, honest):
    import torch

    program = _run_dir(tmp_path, {"m.pt2": honest.read_bytes()}).exported("m")
    x = torch.rand(5, 4)
    assert torch.equal(program.module()(x), torch.export.load(str(honest)).module()(x))


CRAFTED = {"a weight that is a pickle": (craft.pickled_weight, "stored as a pickle"),
           "a node that calls torch.os.system": (craft.os_system_target, "ATen operators only"),
           "a shape expression sympy would eval": (craft.eval_in_shape, "shape expression"),
           "guard code": (craft.guard_code, "guard code")}


@pytest.mark.parametrize("attack", sorted(CRAFTED))
def test_a_crafted_model_is_refused_and_runs_nothing(tmp_path, honest, attack):
    build, reason = CRAFTED[attack]
    marker = tmp_path / "pwned"
    artifacts = _run_dir(tmp_path, {"m.pt2": build(honest, f"touch {marker}")})
    with pytest.raises(BadArtifact, match=reason):
        artifacts.exported("m")
    assert not marker.exists()


def test_the_crafted_models_do_run_code_in_plain_torch(tmp_path, honest):
    """Why the loader exists: torch.export.load itself runs these payloads."""
    import torch

    for build in (craft.pickled_weight, craft.eval_in_shape, craft.pickled_inputs):
        marker = tmp_path / f"pwned_{build.__name__}"
        try:
            torch.export.load(io.BytesIO(build(honest, f"touch {marker}")))
        except Exception:
            pass
        assert marker.exists(), build.__name__


def test_pickled_example_inputs_are_never_unpickled(tmp_path, honest):
    marker = tmp_path / "pwned"
    program = _run_dir(tmp_path, {"m.pt2": craft.pickled_inputs(honest, f"touch {marker}")}).exported("m")
    assert program.module() is not None and not marker.exists()


def test_archives_are_bounded_before_they_are_unpacked(tmp_path):
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as z:
        for i in range(5000):
            z.writestr(f"archive/data/weights/weight_{i}", b"")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.npy", b"\0" * (64 << 20))
    artifacts = _run_dir(tmp_path, {"m.pt2": many.getvalue(), "big.npz": bomb.getvalue()})
    with pytest.raises(BadArtifact, match="5000 entries"):
        artifacts.exported("m")
    import gradekit.grading.artifacts as module
    module.MAX_ARTIFACT_BYTES, saved = 1 << 20, module.MAX_ARTIFACT_BYTES
    try:
        with pytest.raises(BadArtifact, match="unpacks to 64.0 MB"):
            artifacts.arrays("big")
    finally:
        module.MAX_ARTIFACT_BYTES = saved


def test_malformed_answers_and_arrays_are_the_students_failure(tmp_path):
    objects = io.BytesIO()
    np.savez(objects, x=np.array([{"a": 1}], dtype=object))
    artifacts = _run_dir(tmp_path, {"answers.json": craft.deep_json().encode(), "obj.npz": objects.getvalue()})
    with pytest.raises(BadArtifact, match="nests deeper than 64 levels"):
        artifacts.answer("q")
    with pytest.raises(BadArtifact, match="not a plain numeric array"):
        artifacts.arrays("obj")


def test_links_pipes_and_sockets_are_never_followed_or_waited_on(tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text('{"q": 1}')
    artifacts = _run_dir(tmp_path, {})
    (tmp_path / "artifacts" / "answers.json").symlink_to(secret)
    with pytest.raises(BadArtifact, match="not a regular file"):
        artifacts.answer("q")
    os.mkfifo(tmp_path / "artifacts" / "m.pt2")   # a pipe would block a plain open() for the whole grader timeout
    with pytest.raises(BadArtifact, match="not a regular file"):
        artifacts.exported("m")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "artifacts" / "s.npz"))
    with pytest.raises(BadArtifact, match="not a regular file"):
        artifacts.arrays("s")
    server.close()


def test_publish_keeps_regular_files_only_and_counts_them(tmp_path):
    from gradekit.course.limits import Limits
    from gradekit.run.publish import enforce

    folder = tmp_path / "staging"
    (folder / "artifacts").mkdir(parents=True)
    (folder / "artifacts" / "answers.json").symlink_to("/etc/passwd")
    os.mkfifo(folder / "artifacts" / "pipe.json")
    (folder / "artifacts" / "ok.json").write_text("{}")
    warnings = enforce(folder, Limits())
    assert "not a regular file" in warnings[0] and "answers.json" in warnings[0] and "pipe.json" in warnings[0]
    assert sorted(p.name for p in (folder / "artifacts").iterdir()) == ["ok.json"]
    for i in range(30):
        (folder / "artifacts" / f"f{i}").write_text("x")
    warnings = enforce(folder, Limits(files=20))
    assert "(`files`)" in warnings[0] and list((folder / "artifacts").iterdir()) == []


def test_a_worker_result_is_bounded_while_it_is_decompressed(tmp_path):
    from gradekit.platform.transfer import TamperedResult, unpack

    class Zeros(io.RawIOBase):
        left = 256 << 20

        def readable(self):
            return True

        def readinto(self, b):
            n = min(len(b), self.left)
            b[:n] = bytes(n)
            self.left -= n
            return n

    def bomb(declared: int) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
            info = tarfile.TarInfo("artifacts/zeros.npy")
            info.size = declared
            tar.addfile(info, io.BufferedReader(Zeros()))
        return buffer.getvalue()

    packed = bomb(256 << 20)
    assert len(packed) < 2 << 20   # 256 MB in about a megabyte
    with pytest.raises(TamperedResult, match="output budget"):
        unpack(packed, tmp_path / "out", budget_bytes=1 << 20)
    assert not (tmp_path / "out").exists()


def _worker(tmp_path: Path, source: str):
    import nbformat

    from gradekit.grading.student_code import StudentCode

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source, execution_count=1)]
    nbformat.write(nb, tmp_path / "sub.ipynb")
    return StudentCode(tmp_path, tmp_path, timeout_s=30)


def test_a_call_worker_that_lies_on_its_protocol_fails_its_own_call(tmp_path):
    source = '''import os, stat, struct
def garble():
    for fd in range(3, 64):   # find the protocol pipe and write a frame that claims a terabyte
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, struct.pack(">Q", 1 << 40))
        except OSError:
            pass
    return 1
def objects():
    import numpy as np
    return np.array([{"a": 1}], dtype=object)
def plant():
    here = os.path.dirname(os.path.abspath(__file__)) if "__file__" in globals() else os.getcwd()
    written = []
    for folder in (os.getcwd(), "/tmp"):
        try:
            os.symlink("/etc/passwd", os.path.join(folder, "request_2.json"))
            written.append(folder)
        except OSError:
            pass
    return len(written)
def one():
    return 1
'''
    code = _worker(tmp_path, source)
    with pytest.raises(ItemFailed, match="not a result"):
        code.call("garble")
    assert int(code.call("one")[0]) == 1              # a fresh worker for the next call
    with pytest.raises(ItemFailed, match="not numbers"):
        code.call("objects")
    code.call("plant")                                 # whatever it plants, the trusted side writes no file
    assert int(code.call("one")[0]) == 1
    assert not [p for p in tmp_path.rglob("request_*")]
    code.close()


def test_the_call_worker_cannot_write_its_own_code(tmp_path):
    code = _worker(tmp_path, "import os\ndef tamper():\n    import callworker\n"
                             "    open(callworker.__file__, 'a').write('x')\n    return 1")
    with pytest.raises(ItemFailed, match="Read-only file system|Permission denied"):
        code.call("tamper")
    code.close()


def test_feedback_and_marking_pages_escape_what_a_student_wrote(tmp_path):
    from gradekit.week.pages import image_data_uri

    evil = "x' onerror='document.body.innerHTML=\"11 / 11: all tests passed\""
    assert image_data_uri("image/png", evil) is None
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    assert image_data_uri("image/png", png + "\n") == f"data:image/png;base64,{png}"
    assert image_data_uri("image/png", "R0lGODlhAQABAAAAACw=") is None   # a GIF declared as a PNG


def test_terminal_lines_and_spreadsheet_cells_are_neutralised():
    from gradekit.platform.untrusted import for_spreadsheet, for_terminal

    line = for_terminal("oops\r\x1b[2K\x1b[1A  alice: ok 4 / 4\u202e")
    assert "\x1b" not in line and "\r" not in line and "\u202e" not in line
    assert for_spreadsheet("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert for_spreadsheet("@SUM(A1)") == "'@SUM(A1)" and for_spreadsheet("-1") == "-1" and for_spreadsheet(3.5) == 3.5
    assert for_spreadsheet("plain") == "plain"


def test_a_hand_in_is_staged_without_following_its_links(tmp_path):
    """A link in a hand-in would make the runner copy the file it points to (read with the runner's rights)
    into the student's work folder; only regular files and folders are staged."""
    import nbformat

    from gradekit.run.staging import Staging, stage_submission

    secret = tmp_path / "secret.txt"
    secret.write_text("the answer key")
    hand_in = tmp_path / "submitted" / "s" / "A"
    (hand_in / "data").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), hand_in / "A.ipynb")
    (hand_in / "data" / "key.txt").symlink_to(secret)
    (hand_in / "linked_dir").symlink_to(tmp_path)
    os.mkfifo(hand_in / "pipe")
    (hand_in / "data" / "mine.txt").write_text("mine")
    staging = Staging.create_in(tmp_path)
    notebook, warnings = stage_submission(hand_in, "A", staging, {})
    assert (staging.work / "data" / "mine.txt").read_text() == "mine" and notebook.exists()
    assert not (staging.work / "data" / "key.txt").exists() and not (staging.work / "linked_dir").exists()
    assert not (staging.work / "pipe").exists()
    assert "data/key.txt" in warnings[0] and "linked_dir" in warnings[0] and "pipe" in warnings[0]
    (hand_in / "A.ipynb").unlink()
    (hand_in / "A.ipynb").symlink_to(secret)
    with pytest.raises(Exception, match="not a valid notebook.*not a regular file"):
        stage_submission(hand_in, "A", Staging.create_in(tmp_path), {})
