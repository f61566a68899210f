"""`gradekit similarity A`: which submissions share code beyond the release's, as evidence for a person.

The notebook layer is ours: each submission's code cells (the parameters cell and the runner's injected cell
left out), the release's own cells removed cell by cell (a cell the student left as given) and fingerprint by
fingerprint (the given lines inside a cell the student completed). The fingerprints are copydetect's: pygments
tokens with names, strings and numbers abstracted (renaming and reformatting do not hide a copy), k-grams
winnowed (Schleimer et al.), so moved cells and functions still match. Pairs that share any fingerprint are
scored by the share of each one's fingerprints the other holds; copydetect's own overlap gives the copied
fragments of the pairs the report shows.

A score says how much of a notebook's own code (the release's removed) is also in the other one. It is
never a verdict: common idioms, a shared tutorial or a helper from the lecture match too.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import get_token_coverage

from gradekit.platform.untrusted import MAX_NOTEBOOK_BYTES, UntrustedData, read_json

NOISE, GUARANTEE = 25, 30          # copydetect's defaults: no match under 25 characters of filtered code
MIN_OWN = 200                      # filtered characters of a notebook's own code below which it is not compared
SKIP_TAGS = {"parameters", "injected-parameters"}


@dataclass
class Document:
    name: str                      # a student, or "<corpus>/<name>" for a reference
    code: str
    fingerprint: CodeFingerprint | None = None
    reference: str = ""            # the reference corpus it belongs to ("" for this year's students)

    @property
    def comparable(self) -> bool:
        return self.fingerprint is not None and self.fingerprint.token_coverage >= MIN_OWN


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    score: float                   # the larger of the two shares below
    share_a: float                 # of a's own code, the part also in b
    share_b: float
    fingerprints: int              # winnowed fingerprints the two share


def _normal(source: str) -> str:
    return re.sub(r"\s+", " ", source).strip()


def code_cells(path: Path) -> list[str]:
    """The code cells of a notebook, read as untrusted JSON; [] when it cannot be read."""
    try:
        nb = read_json(path, MAX_NOTEBOOK_BYTES, "the notebook", max_depth=500)
    except (UntrustedData, OSError):
        return []
    cells = nb.get("cells", []) if isinstance(nb, dict) else []
    out = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", []) if isinstance(cell.get("metadata"), dict) else []
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if isinstance(source, str) and not SKIP_TAGS & set(tags if isinstance(tags, list) else []):
            out.append(source)
    return out


def own_code(cells: list[str], given: set[str]) -> str:
    """The cells that are not the release's as given, one after the other."""
    return "\n\n".join(c for c in cells if _normal(c) and _normal(c) not in given)


def fingerprint(name: str, code: str, boilerplate: set) -> CodeFingerprint:
    fp = CodeFingerprint(f"{name}.py", NOISE, GUARANTEE - NOISE + 1, fp=io.StringIO(code), language="python")
    if boilerplate:
        fp.hashes = fp.hashes - boilerplate
        for h in boilerplate:
            fp.hash_idx.pop(h, None)
        fp.token_coverage = get_token_coverage(fp.hash_idx, NOISE, len(fp.filtered_code)) if fp.hash_idx else 0
    return fp


def shared_fingerprints(docs: list[Document]) -> np.ndarray:
    """n x n: fingerprints each pair shares (a sparse document x fingerprint product, so 500 notebooks take a
    second). References are compared with this year only, never with each other: their block is zero."""
    from scipy import sparse
    column: dict[int, int] = {}
    rows, cols = [], []
    for i, doc in enumerate(docs):
        for h in doc.fingerprint.hashes if doc.comparable else ():
            rows.append(i)
            cols.append(column.setdefault(h, len(column)))
    incidence = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(len(docs), len(column) or 1))
    shared = (incidence @ incidence.T).toarray()
    reference = np.array([bool(d.reference) for d in docs])
    shared[np.ix_(reference, reference)] = 0
    np.fill_diagonal(shared, 0)
    return shared


def compare(docs: list[Document], min_shared: int = 3) -> list[Pair]:
    """Every pair sharing at least `min_shared` fingerprints, highest score first. A share is the part of a
    notebook's own fingerprints the other one has too (containment of the winnowed fingerprints)."""
    shared = shared_fingerprints(docs)
    sizes = [len(d.fingerprint.hashes) if d.comparable else 0 for d in docs]
    pairs = []
    for i, j in zip(*np.nonzero(np.triu(shared >= min_shared))):
        share_a, share_b = shared[i, j] / sizes[i], shared[i, j] / sizes[j]
        pairs.append(Pair(docs[i].name, docs[j].name, round(max(share_a, share_b), 4), round(share_a, 4),
                          round(share_b, 4), int(shared[i, j])))
    return sorted(pairs, key=lambda p: (-p.score, p.a, p.b))


def fragments(a: Document, b: Document) -> tuple[tuple, tuple]:
    """Where the two notebooks' shared code is, in each one's own text (copydetect's overlap): for the pairs
    a person reads."""
    _, _, (slices_a, slices_b) = compare_files(a.fingerprint, b.fingerprint)
    return _as_tuple(slices_a), _as_tuple(slices_b)


def _as_tuple(slices) -> tuple:
    return tuple(zip(*(np.asarray(s).astype(int).tolist() for s in slices))) if len(slices[0]) else ()


def clusters(pairs: list[Pair], threshold: float) -> list[list[str]]:
    """Groups of three or more linked by pairs at or above `threshold` (connected components)."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for p in pairs:
        if p.score >= threshold:
            parent[root(p.a)] = root(p.b)
    groups: dict[str, list[str]] = {}
    for x in parent:
        groups.setdefault(root(x), []).append(x)
    return sorted((sorted(g) for g in groups.values() if len(g) >= 3), key=lambda g: (-len(g), g))


def documents(students: dict[str, Path], given_cells: list[str], references: dict[str, list[Path]]) -> list[Document]:
    """This year's notebooks (student -> path) and the reference corpora (name -> notebooks), fingerprinted
    with the release's code as boilerplate."""
    given = {_normal(c) for c in given_cells if _normal(c)}
    boilerplate = fingerprint("release", "\n\n".join(given_cells), set()).hashes if given_cells else set()
    docs = [Document(s, own_code(code_cells(p), given)) for s, p in sorted(students.items())]
    for corpus, paths in sorted(references.items()):
        docs += [Document(f"{corpus}/{p.stem}", own_code(code_cells(p), given), reference=corpus) for p in sorted(paths)]
    for doc in docs:
        doc.fingerprint = fingerprint(doc.name, doc.code, boilerplate) if doc.code else None
    return docs
