"""Fingerprint engines for `gradekit similarity`, side by side on the planted-copy corpus
(tests/similarity_corpus.py: 15 honest parts of the five solutions, 12 copies: verbatim, renamed, reordered,
reformatted, renamed + reordered, pieces of two sources). Each engine scores every pair of notebooks (their
code cells joined); for each: recall and precision at its best threshold (highest F1), the top-k precision
(k = the number of planted pairs), and the wall time.

    pip install -e ".[bench]"      # pycode_similar, tree-sitter, tree-sitter-python, winnowing
    python benchmarks/similarity_engines.py

Engines: copydetect through the kit's notebook layer (what `gradekit similarity` uses: pygments tokens with
names, strings and numbers abstracted, k = 25, winnowing window 6); pycode_similar (normalised Python ASTs,
function by function, difflib); tree-sitter tokens (identifiers, strings and numbers abstracted) winnowed by
the `winnowing` package (k = 25), scored as the kit scores (the share of one side's fingerprints the other
holds). Dolos is not here: its npm package is not on the registry this machine reaches.
"""
from __future__ import annotations

import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
from similarity_corpus import build  # noqa: E402
from gradekit.week.similarity import code_cells, compare, documents  # noqa: E402


def python_of(path: Path) -> str:
    """The notebook's code cells as one Python module (IPython's magics and shell lines left out)."""
    lines = [line for cell in code_cells(path) for line in cell.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return "\n".join(lines) + "\n"


def copydetect_scores(paths: dict[str, Path]) -> dict[frozenset, float]:
    return {frozenset((p.a, p.b)): p.score for p in compare(documents(paths, [], {}))}


def pycode_similar_scores(paths: dict[str, Path]) -> dict[frozenset, float]:
    import pycode_similar

    code = {name: python_of(path) for name, path in paths.items()}

    def share(reference: str, candidate: str) -> float:
        try:
            result = pycode_similar.detect([code[reference], code[candidate]], keep_prints=True, module_level=True)
        except Exception:   # a part its AST layer cannot read: scored as nothing shared
            return 0.0
        return pycode_similar.summarize(result[0][1])[0]

    return {frozenset((a, b)): max(share(a, b), share(b, a)) for a, b in itertools.combinations(sorted(paths), 2)}


def tree_sitter_scores(paths: dict[str, Path], k: int = 25) -> dict[frozenset, float]:
    import tree_sitter
    import tree_sitter_python
    from winnowing import winnow

    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_python.language()))
    abstract = {"identifier": "V", "string": "S", "integer": "N", "float": "N"}
    alphabet: dict[str, str] = {}

    def tokens(source: str) -> str:
        out, stack = [], [parser.parse(source.encode()).root_node]
        while stack:   # leaves in source order; a string is one token
            node = stack.pop()
            if node.type in abstract or node.child_count == 0:
                kind = abstract.get(node.type, node.type)
                out.append(alphabet.setdefault(kind, chr(0x4E00 + len(alphabet))))
            else:
                stack.extend(reversed(node.children))
        return "".join(out)

    prints = {name: {h for _, h in winnow(tokens(python_of(path)), k=k)} for name, path in paths.items()}
    scores = {}
    for a, b in itertools.combinations(sorted(paths), 2):
        shared = len(prints[a] & prints[b])
        scores[frozenset((a, b))] = max(shared / max(len(prints[a]), 1), shared / max(len(prints[b]), 1))
    return scores


def quality(scores: dict[frozenset, float], planted: set[frozenset]) -> dict:
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    best = {"f1": -1.0}
    for threshold in sorted({s for s in scores.values() if s > 0}):
        flagged = [pair for pair, s in scores.items() if s >= threshold]
        found = sum(pair in planted for pair in flagged)
        recall, precision = found / len(planted), found / len(flagged)
        f1 = 2 * recall * precision / (recall + precision) if found else 0.0
        if f1 > best["f1"]:
            best = {"f1": round(f1, 3), "threshold": round(threshold, 3), "recall": round(recall, 3),
                    "precision": round(precision, 3)}
    top = sum(pair in planted for pair, _ in ranked[:len(planted)]) / len(planted)
    honest_max = max((s for pair, s in scores.items() if pair not in planted), default=0.0)
    planted_min = min(scores.get(pair, 0.0) for pair in planted)
    return {**best, f"top{len(planted)}_precision": round(top, 3), "lowest_planted": round(planted_min, 3),
            "highest_honest": round(honest_max, 3)}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths, planted = build(Path(tmp) / "corpus")
        report = {"notebooks": len(paths), "pairs": len(paths) * (len(paths) - 1) // 2, "planted_pairs": len(planted)}
        for name, engine in (("copydetect (kit)", copydetect_scores), ("pycode_similar", pycode_similar_scores),
                             ("tree-sitter + winnowing", tree_sitter_scores)):
            started = time.time()
            scores = engine(paths)
            report[name] = {**quality(scores, planted), "seconds": round(time.time() - started, 2)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
