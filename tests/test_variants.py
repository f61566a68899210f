"""Per-student variants ([variants]): seeds from the course secret, values made once and stored, injected
as parameters, read by the graders; a classmate's numbers flagged with a reason; one student re-rolled; the
solution on several variants. On the tiny course's `vary` assignment (the product of a student's a and b)."""
from __future__ import annotations

import csv
import json
import importlib.util

import nbformat
import pytest

from conftest import gradekit, tiny_course
from gradekit.course.variants import VariantPolicy, compute, derive_seed
from gradekit.errors import DeclarationError, VariantError
from gradekit.records import GradeReport, ItemResult


def test_seeds_are_keyed_by_secret_student_assignment_and_roll():
    seed = derive_seed(b"k" * 32, "a2", "s001")
    assert seed == derive_seed(b"k" * 32, "a2", "s001") and 0 < seed < 2**31
    others = {derive_seed(b"k" * 32, "a2", "s002"), derive_seed(b"k" * 32, "a3", "s001"),
              derive_seed(b"k" * 32, "a2", "s001", roll=1), derive_seed(b"j" * 32, "a2", "s001")}
    assert seed not in others and len(others) == 4


def test_declaration_and_values_are_checked(tmp_path):
    assert VariantPolicy.declared({}, "a.toml") is None
    with pytest.raises(DeclarationError, match="items must name"):
        VariantPolicy.declared({"variants": {"function": "v.py:f"}}, "a.toml")
    with pytest.raises(DeclarationError, match="file.py:name"):
        VariantPolicy.declared({"variants": {"function": "v:f", "items": ["q1.*"]}}, "a.toml")
    policy = VariantPolicy.declared({"variants": {"function": "v.py:f", "items": ["q1.*", "q2.a"]}}, "a.toml")
    assert policy.touches("q1.output") and policy.touches("q2.a") and not policy.touches("q2.b")
    (tmp_path / "v.py").write_text("import math\ndef f(seed):\n    return {'w': [0.5, math.nan]} if seed else {'w': [0.5]}\n")
    assert compute(tmp_path, policy, 0) == {"w": [0.5]}
    with pytest.raises(VariantError, match="finite numbers"):
        compute(tmp_path, policy, 1)


def test_one_chance_match_is_not_flagged_two_of_the_same_variant_are():
    items = [ItemResult(f"q1.{i}", 1, matches=m) for i, m in enumerate(["ann", "", "", "bob", ""])]
    assert GradeReport(items).flags == [], "one number can match a classmate's by chance"
    items[2].matches = "ann"
    assert GradeReport(items).flags == ["answers right for the variant of ann, not for this student's: q1.0, q1.2"]


def test_the_self_check_says_whose_numbers_the_notebook_works_with(capsys):
    from gradekit.provided.gradekit_selfcheck import _say_variant

    _say_variant({"VARIANT_SEED": 0, "VARIANT": None})
    assert "VARIANT_SEED is 0, the printed example's numbers: set your own seed" in capsys.readouterr().out
    _say_variant({"VARIANT_SEED": 1234, "STUDENT_ID": "ann", "VARIANT": {"a": 12, "b": 40}})
    assert 'your variant: seed 1234 (student ann): {"a": 12, "b": 40}' in capsys.readouterr().out
    _say_variant({"SEED": 0})
    assert capsys.readouterr().out == "", "an assignment without variants says nothing"


def _hand_in(course, student: str, product: str | None = None) -> None:
    """The release's notebook handed in; `product` replaces the computed answer (a hand-typed number)."""
    nb = nbformat.read(course / "source" / "vary" / "vary.ipynb", as_version=4)
    if product is not None:
        nb.cells[-1].source = f'submit.answer("vary.product", {product})'
    folder = course / "submitted" / student / "vary"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "vary.ipynb")


def _grade_items(course, student: str) -> dict:
    return json.loads((course / "autograded" / student / "vary" / "grade.json").read_text())["items"][0]


@pytest.fixture(scope="module")
def vary(tmp_path_factory):
    """Three students: honest, one who typed ann's product, one who typed the printed example's."""
    course, data = tiny_course(tmp_path_factory.mktemp("vary") / "course", [])
    _hand_in(course, "ann")
    (course / "roster.csv").write_text("student,name,email\nann,Ann A,ann@x\nbob,Bob B,bob@x\ncyd,Cyd C,cyd@x\n")
    made = gradekit("variants", "vary", cwd=course)
    book = json.loads((course / "variants" / "vary.json").read_text())["students"]
    ann = book["ann"]["values"]
    _hand_in(course, "bob", str(ann["a"] * ann["b"]))
    _hand_in(course, "cyd", "21")
    for step in ("run", "grade"):
        gradekit(step, "vary", "--jobs", "2", "--data-root", str(data), cwd=course)
    marks = gradekit("marks", "vary", cwd=course, check=False)
    return course, data, book, made.stdout, marks


def test_every_student_of_the_roster_gets_a_stored_variant(vary):
    course, _, book, out, _ = vary
    assert sorted(book) == ["ann", "bob", "cyd"] and "3 students hold a variant (3 new" in out
    seeds = {s: v["seed"] for s, v in book.items()}
    assert len(set(seeds.values())) == 3 and 0 not in seeds.values()
    rows = list(csv.DictReader((course / "marks" / "vary_variants.csv").open()))
    assert [(r["student"], int(r["seed"]), json.loads(r["values"])) for r in rows] == [
        (s, book[s]["seed"], book[s]["values"]) for s in ("ann", "bob", "cyd")]
    assert (course / ".gradekit" / "course_secret").stat().st_mode & 0o777 == 0o600


def test_the_run_injects_the_stored_variant_and_the_notebook_shows_it(vary):
    course, _, book, _, _ = vary
    run = json.loads((course / "autograded" / "ann" / "vary" / "run.json").read_text())
    assert run["parameters"]["STUDENT_ID"] == "ann"
    assert run["parameters"]["VARIANT_SEED"] == book["ann"]["seed"]
    assert run["parameters"]["VARIANT"] == book["ann"]["values"]
    executed = (course / "autograded" / "ann" / "vary" / "vary.ipynb").read_text()
    a, b = book["ann"]["values"]["a"], book["ann"]["values"]["b"]
    assert f"your numbers: a = {a}, b = {b}" in executed


def test_own_numbers_pass_and_a_classmates_are_flagged(vary):
    course = vary[0]
    assert _grade_items(course, "ann")["points"] == 2
    bob = _grade_items(course, "bob")
    assert bob["points"] == 0 and "right for other numbers than yours" in bob["reason"]
    assert "ann" not in bob["reason"], "the student's reason names no classmate"
    assert bob["matches"] == "ann"
    cyd = _grade_items(course, "cyd")
    assert cyd["points"] == 0 and "right for the printed example's numbers" in cyd["reason"]
    assert cyd["matches"] == "the printed example"
    sheet = {r["student"]: r for r in csv.DictReader((course / "marks" / "vary.csv").open())}
    assert "FLAGGED: answers right for the variant of ann, not for this student's: vary.product" in sheet["bob"]["notes"]
    assert "FLAGGED: answers right for the printed example, not for this student's" in sheet["cyd"]["notes"]
    assert "FLAGGED" not in sheet["ann"]["notes"]
    page = (course / "feedback" / "ann" / "vary.html").read_text()
    assert f"seed <b>{vary[2]['ann']['seed']}</b>" in page


@pytest.mark.slow   # 10 s: two more runs and grades
def test_values_stay_put_and_one_student_is_rerolled(vary):
    course, data, book, _, _ = vary
    stored = (course / "variants" / "vary.json").read_bytes()
    gradekit("variants", "vary", cwd=course)
    assert (course / "variants" / "vary.json").read_bytes() == stored, "a second call changes no variant"
    run_json = course / "autograded" / "ann" / "vary" / "run.json"
    before = run_json.read_bytes()
    gradekit("run", "vary", "--students", "ann", "--data-root", str(data), cwd=course)
    assert run_json.read_bytes() == before, "same variant, same input: the run is not made again"
    gradekit("variants", "vary", "--reroll", "ann", cwd=course)
    after = json.loads((course / "variants" / "vary.json").read_text())["students"]
    assert after["ann"]["roll"] == 1 and after["ann"]["seed"] != book["ann"]["seed"]
    assert {s: after[s] for s in ("bob", "cyd")} == {s: book[s] for s in ("bob", "cyd")}
    gradekit("grade", "vary", "--student", "ann", "--data-root", str(data), cwd=course)
    report = json.loads((course / "autograded" / "ann" / "vary" / "grade.json").read_text())
    assert "re-rolled since?" in report["grading_error"], "a run of the old variant is never graded as the new"
    gradekit("run", "vary", "--students", "ann", "--data-root", str(data), cwd=course)
    gradekit("grade", "vary", "--student", "ann", "--data-root", str(data), cwd=course)
    assert _grade_items(course, "ann")["points"] == 2


@pytest.mark.slow   # 40 s: five variants run and graded
def test_the_solution_earns_every_point_on_each_variant(vary, tmp_path):
    course, data = vary[0], vary[1]
    done = gradekit("solve", "vary", "--variants", "5", "--data-root", str(data), cwd=course, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(done.stdout)["variants"]
    assert [v["name"] for v in found] == [f"variant-{i:02d}" for i in range(1, 6)]
    assert all(v["total"] == v["max"] == 2 and not v["lost"] for v in found)
    assert len({v["seed"] for v in found}) == 5
    assert "5 of 5 variants earn every point" in done.stderr


@pytest.mark.slow   # 60 s: ECE4179 2022 A2's Q1 task run and graded for two students
def test_ece4179_2022_a2_q1_a_classmates_weights_are_flagged(course, data_root):
    """Q1 by hand with per-student weights: erin types alice's five numbers into her own notebook."""
    from gradekit.authoring.solve import trimmed
    from gradekit.batch.driver import drive
    from gradekit.batch.settings import Settings
    from gradekit.course import Course
    from gradekit.grading.stage import GradeStage
    from gradekit.platform.executors import LocalPool
    from gradekit.run.stage import RunStage

    assignment = Course(course).assignment("ece4179_2022_a2")
    (course / ".gradekit").mkdir()
    (course / ".gradekit" / "course_secret").write_text("03" * 32)   # seeds where the two differ in every weight asked
    book = assignment.variant_book()
    book.ensure(["alice", "erin"])
    alice_nb = trimmed(assignment, book.policy.tasks)
    for student in ("alice", "erin"):
        (course / "submitted" / student / assignment.name).mkdir(parents=True)
    nbformat.write(alice_nb, course / "submitted" / "alice" / assignment.name / assignment.notebook_name)
    w = book.students["alice"].values
    spec = importlib.util.spec_from_file_location("q1_graders", course / "grader_tests" / assignment.name / "test_q1_q2_calculations.py")
    graders = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(graders)
    q1 = graders.q1(w)
    assert w["w25"] != book.students["erin"].values["w25"]
    copied = {"output": q1["output"], "bce_y0": q1["bce_y0"], "bce_y1": q1["bce_y1"],
              "w36_updated": w["w36"] - 0.01 * q1["grad_w36"], "w25_updated": w["w25"] - 0.01 * q1["grad_w25"]}
    erin_nb = trimmed(assignment, book.policy.tasks)
    code = next(c for c in erin_nb.cells if 'submit.answer("q1.output"' in c.source)
    code.source = "\n".join(f'submit.answer("q1.{k}", {round(v, 6)})' for k, v in copied.items())
    nbformat.write(erin_nb, course / "submitted" / "erin" / assignment.name / assignment.notebook_name)

    settings, folders, students = Settings(data_root=data_root, profile="smoke"), assignment.folders(), ["alice", "erin"]
    runs = drive(RunStage(assignment, settings, folders, 2), students, LocalPool(2))
    assert runs["erin"].parameters["VARIANT"] == book.students["erin"].values
    grades = drive(GradeStage(assignment, settings, folders, students, items=book.policy.items), students, LocalPool(2))
    assert grades["alice"].total == grades["alice"].max == 7.5, [(i.id, i.reason) for i in grades["alice"].items]
    erin = {i.id: i for i in grades["erin"].items}
    assert len(erin) == 5 and all(i.points == 0 and i.matches == "alice" for i in erin.values()), erin
    assert "alice" not in " ".join(i.reason for i in erin.values())
    assert grades["erin"].flags == ["answers right for the variant of alice, not for this student's: "
                                    "q1.1.output, q1.2.bce_y0, q1.3.bce_y1, q1.4.w36, q1.5.w25"]


@pytest.mark.slow   # 8 s: two tries
def test_try_uses_the_stored_variant_and_stores_none(vary, tmp_path):
    course, data = vary[0], vary[1]
    notebook = course / "submitted" / "ann" / "vary" / "vary.ipynb"
    stored = (course / "variants" / "vary.json").read_bytes()
    for student in ("ann", "zed_not_enrolled"):
        done = gradekit("try", "vary", str(notebook), "--student", student, "--data-root", str(data), cwd=course)
        assert "vary.product      2 / 2" in done.stdout, done.stdout
    assert (course / "variants" / "vary.json").read_bytes() == stored, "try writes nothing into the course"
