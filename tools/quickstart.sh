#!/usr/bin/env bash
# `make quickstart`: runs every step in tools/quickstart/ in name order (pose on the bundled COCO images, then a
# dense task on generated samples). Outputs go to ${QUICKSTART_DIR:-work_dirs/quickstart}.
set -euo pipefail
cd "$(dirname "$0")/.."
export QUICKSTART_DIR=${QUICKSTART_DIR:-work_dirs/quickstart}
export PYTHON=${PYTHON:-.venv/bin/python}
for step in tools/quickstart/*.sh; do
    echo "=== quickstart: $step"
    bash "$step"
done
echo "=== quickstart done: see $QUICKSTART_DIR"
