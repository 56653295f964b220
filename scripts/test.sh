#!/usr/bin/env bash
# The README's test command: the Rust tests, then the Python package's tests (scikit-learn
# contract, parity, Dask) in a virtualenv under target/ that this script makes and reuses.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --release

VENV="$PWD/target/python-venv"
if [ ! -x "$VENV/bin/python" ]; then
  # Reuses numpy / scipy / scikit-learn where the system Python has them.
  python3 -m venv --system-site-packages "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "./python[dask,test]"
cd python/tests
"$VENV/bin/python" -m pytest -q -p no:cacheprovider
