#!/usr/bin/env bash
# Set up this machine for gradekit: bubblewrap, a virtual environment with the kit, and the data root
# (real MNIST/FashionMNIST from a local mirror or the internet; the SVHN stand-in where SVHN is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v bwrap >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq bubblewrap) || echo "WARNING: could not install bubblewrap"
  else
    sudo -n apt-get install -y -qq bubblewrap 2>/dev/null || echo "WARNING: bubblewrap missing: submissions will NOT be sandboxed"
  fi
fi

# a kit run as root sandboxes submissions as this unprivileged account (gradekit.platform.sandbox.sandbox_ids)
if [ "$(id -u)" = 0 ] && ! id gradekit-sandbox >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin gradekit-sandbox \
    || echo "WARNING: could not create the gradekit-sandbox account: sandboxes run as nobody"
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# installed once per pyproject.toml: a second ./demo or ./test does not ask the index again
stamp=".venv/.gradekit-installed"
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  echo "$wanted" > "$stamp"
fi

export DATA_ROOT="${DATA_ROOT:-$PWD/data}"
mirror="${GRADEKIT_DATA_MIRROR:-$PWD/../shared/data}"
real="mnist fashionmnist faces photos olivetti"
rebuilt="ece4179_hw2_q2q3 ece4179_hw2_q4"   # course files, rebuilt from the real sets above by their recipes
if [ -d "$mirror" ]; then
  .venv/bin/gradekit data fetch $real --from "$mirror"
else
  .venv/bin/gradekit data fetch $real
fi
.venv/bin/gradekit data fetch $rebuilt
# stand-ins only where the real files are missing (a machine with SVHN, STL10, EMNIST or the ResNet18 weights keeps them)
.venv/bin/gradekit data synth svhn resnet18 stl10 emnist
.venv/bin/gradekit data verify $real $rebuilt svhn resnet18 stl10 emnist
