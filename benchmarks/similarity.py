"""`gradekit similarity` on a course of N notebooks of HW2's size: each student's notebook is the HW2
release's cells plus their own code, drawn as a worst case for the comparison: everyone solves the same
tasks from the same solution (cells renamed per student, a third of them left out, cells of the other
assignments' solutions mixed in), so nearly every pair shares fingerprints and is compared in full.

    python benchmarks/similarity.py [--n 500]

Prints the time to read and fingerprint, to compare, and to write the report, on this machine.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
from similarity_corpus import honest_parts, notebook, renamed, solution_cells  # noqa: E402
from gradekit.week.similarity import code_cells, compare, documents  # noqa: E402
from gradekit.week.similarity_report import write  # noqa: E402


def course(dest: Path, n: int) -> tuple[dict[str, Path], list[str]]:
    given = code_cells(REPO / "release" / "ee046211_hw2" / "ee046211_hw2.ipynb")
    solution = solution_cells("ee046211_hw2")
    others = [c for name, cells in honest_parts().items() if not name.startswith("ee046211") for c in cells]
    rng = random.Random(0)
    paths = {}
    for i in range(n):
        own = [c for c in solution if rng.random() > 0.33] + rng.sample(others, 6)
        rng.shuffle(own)
        paths[f"student{i:03d}"] = dest / f"student{i:03d}.ipynb"
        paths[f"student{i:03d}"].write_text(notebook(given + renamed(own, i)))
    return paths, given


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths, given = course(Path(tmp), args.n)
        size = sum(p.stat().st_size for p in paths.values()) / len(paths)
        started = time.time()
        docs = documents(paths, given, {})
        read = time.time()
        pairs = compare(docs)
        compared = time.time()
        written = write("benchmark", docs, pairs, Path(tmp) / "s.csv", Path(tmp) / "s.html")
        done = time.time()
    print(json.dumps({"notebooks": args.n, "mean_notebook_kb": round(size / 1024, 1), "pairs_compared": len(pairs),
                      "clusters": len(written.clusters), "read_and_fingerprint_s": round(read - started, 1),
                      "compare_s": round(compared - read, 1), "report_s": round(done - compared, 1),
                      "total_s": round(done - started, 1)}, indent=1))


if __name__ == "__main__":
    main()
