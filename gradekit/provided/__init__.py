"""Files the kit hands to every notebook, beside it: the submit and data helpers (pure Python, public
packages only) and the assignment's dataset manifest. The runner always puts its own pristine copies in
place, whatever a student handed in under these names."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

HERE = Path(__file__).parent
HELPERS = ("gradekit_submit.py", "gradekit_data.py", "gradekit_selfcheck.py")
from gradekit.provided.gradekit_selfcheck import CHECKS_FILE as CHECKS   # the graders' public checks
MANIFEST = "gradekit_datasets.json"   # read by gradekit_data: how each declared dataset is loaded


def write(folder: Path, manifest: dict, checks: dict | None = None) -> None:
    """Put the helpers, the dataset manifest and (for a release) the public checks into `folder`, replacing
    anything there by those names."""
    for name in HELPERS:
        shutil.copyfile(HERE / name, folder / name)
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    if checks is not None:
        (folder / CHECKS).write_text(json.dumps(checks, indent=1) + "\n")
