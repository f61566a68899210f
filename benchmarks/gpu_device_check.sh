#!/bin/bash
# The GPU check of issue 14 as it ran on a lent machine with no network (docs/cluster.md, "Measured").
# It expects, carried beside the repo in .gpu/: whl/ (papermill, ipykernel, nbclient, distributed... as cp312
# wheels, `pip download --only-binary=:all:`), bubblewrap_*.deb (`apt-get download bubblewrap`), and
# mirror/FashionMNIST/raw/ (the real files). Run from the repo root: bash benchmarks/gpu_device_check.sh
set -u
cd "$(dirname "$0")/.."   # the repo root
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD OUT=${OUT:-$PWD/.gpu/out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import sys, torch; print(sys.version.split()[0], 'torch', torch.__version__, torch.cuda.is_available())"
python3 -m pip install -q --no-index --no-deps --no-compile .gpu/whl/*.whl 2>&1 | grep -v "^WARNING" | tail -3
mkdir -p /tmp/bw && dpkg -x .gpu/bubblewrap_*.deb /tmp/bw && export PATH=/tmp/bw/usr/bin:$PATH
bwrap --version; which prlimit
python3 -m gradekit.cli data fetch fashionmnist --from .gpu/mirror --data-root /tmp/data || exit 1
python3 - > $OUT/sandbox_probe.txt 2>&1 <<'PY'
import sys, tempfile
from pathlib import Path
from gradekit.platform import sandbox
work = Path(tempfile.mkdtemp())
c = sandbox.Confinement(workdir=work, gpu=True, memory_mb=8192)
done = sandbox.run(c.wrap([sys.executable, "-c", "import torch; print('CUDA in sandbox:', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"]), 120, cwd=work)
print(done.returncode, done.output[-2000:])
PY
cat $OUT/sandbox_probe.txt
FLAG=""
grep -q "CUDA in sandbox: True" $OUT/sandbox_probe.txt || FLAG="--unsandboxed"
[ -n "$FLAG" ] && export GRADEKIT_NO_BWRAP=1 && echo "the sandbox cannot reach the GPU here: measuring unsandboxed"
timeout 470 python3 benchmarks/gpu_slots.py --data-root /tmp/data --n 4 --slots 1 2 4 $FLAG 2>&1 \
  | grep --line-buffered -v "submission/s\|^INFO\|^\s*$" | tee $OUT/gpu_slots.log
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader
