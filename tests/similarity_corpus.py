"""A planted-copy corpus for `gradekit similarity`, built from the five solutions and the scaffold's: honest
work (each solution's code cells cut into three parts: independent code), and copies of some parts made the
ways students make them: verbatim, names changed, cells and functions reordered, code reformatted, and pieces
of two sources put together. Returns the notebooks and the pairs a person should be shown."""
from __future__ import annotations

import ast
import io
import json
import keyword
import random
import tokenize
from pathlib import Path

from conftest import REPO

SOURCES = ("ee046211_hw2", "ece4179_2022_a2", "ece4179_2021_a2", "ece4179_2021_a3", "fit3181_2023_a1")
PARTS = 3


def solution_cells(name: str) -> list[str]:
    nb = json.loads((REPO / "source" / name / f"{name}.ipynb").read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"
             and "parameters" not in c.get("metadata", {}).get("tags", [])]
    return [c for c in cells if len(c.strip()) > 40]


def honest_parts() -> dict[str, list[str]]:
    parts = {}
    for name in SOURCES:
        cells = solution_cells(name)
        step = -(-len(cells) // PARTS)
        for i in range(PARTS):
            parts[f"{name}_p{i}"] = cells[i * step:(i + 1) * step]
    return parts


def renamed(cells: list[str], seed: int) -> list[str]:
    """Every name the code binds, renamed consistently (what a student hiding a copy does first)."""
    bound = set()
    for cell in cells:
        try:
            for node in ast.walk(ast.parse(cell)):
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    bound.add(node.name)
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    bound.add(node.id)
                elif isinstance(node, ast.arg):
                    bound.add(node.arg)
        except SyntaxError:
            pass
    rng = random.Random(seed)
    new = {n: f"{rng.choice(['my', 'the', 'tmp', 'var'])}_{n[::-1]}_{rng.randrange(100)}" for n in bound
           if not keyword.iskeyword(n) and not n.startswith("__")}
    out = []
    for cell in cells:
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(cell).readline))
            out.append(tokenize.untokenize([(t.type, new.get(t.string, t.string) if t.type == tokenize.NAME else t.string)
                                            for t in tokens]))
        except (tokenize.TokenError, IndentationError, SyntaxError):
            out.append(cell)
    return out


def reordered(cells: list[str]) -> list[str]:
    """Cells in reverse order, and the functions inside each cell in reverse order."""
    out = []
    for cell in reversed(cells):
        try:
            tree = ast.parse(cell)
        except SyntaxError:
            out.append(cell)
            continue
        defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        rest = [n for n in tree.body if not isinstance(n, ast.FunctionDef)]
        out.append(ast.unparse(ast.Module(body=defs[::-1] + rest, type_ignores=[])) if len(defs) > 1 else cell)
    return out


def reformatted(cells: list[str]) -> list[str]:
    """What a formatter and a clean-up would leave: ast.unparse (quotes, spacing, no comments)."""
    out = []
    for cell in cells:
        try:
            out.append(ast.unparse(ast.parse(cell)))
        except SyntaxError:
            out.append(cell)
    return out


def notebook(cells: list[str]) -> str:
    nb = {"cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": c, "outputs": [], "execution_count": None}
                    for i, c in enumerate(cells)], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb)


def build(dest: Path) -> tuple[dict[str, Path], set[frozenset]]:
    """dest/<student>.ipynb for every honest part and every planted copy -> (notebooks, pairs to find: any two
    notebooks holding code of one same part, the part itself included)."""
    parts = honest_parts()
    names = sorted(parts)
    docs = dict(parts)
    origin = {name: {name} for name in names}
    kinds = ["verbatim", "renamed", "reordered", "reformatted", "renamed+reordered", "two"]
    for i, source in enumerate(names[:12]):
        kind = kinds[i % len(kinds)]
        copy = f"copy{i:02d}_{kind.replace('+', '_')}"
        cells = parts[source]
        if kind == "verbatim":
            docs[copy] = list(cells)
        elif kind == "renamed":
            docs[copy] = renamed(cells, i)
        elif kind == "reordered":
            docs[copy] = reordered(cells)
        elif kind == "reformatted":
            docs[copy] = reformatted(cells)
        elif kind == "renamed+reordered":
            docs[copy] = reordered(renamed(cells, i))
        else:   # the first half of one part and the second half of another, of another assignment
            other = names[(i + 7) % len(names)]
            docs[copy] = cells[:len(cells) // 2 + 1] + parts[other][len(parts[other]) // 2:]
            origin[copy] = {source, other}
        origin.setdefault(copy, {source})
    planted = {frozenset((a, b)) for a in origin for b in origin if a < b and origin[a] & origin[b]}
    dest.mkdir(parents=True, exist_ok=True)
    paths = {}
    for student, cells in docs.items():
        paths[student] = dest / f"{student}.ipynb"
        paths[student].write_text(notebook(cells))
    return paths, planted
