#!/usr/bin/env bash
# Quickstart, dense step: generate synthetic samples, train the tiny surface-normal model on CPU (about a minute),
# evaluate it and write demo pictures under $QUICKSTART_DIR/dense.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-.venv/bin/python}
OUT=${QUICKSTART_DIR:-work_dirs/quickstart}/dense
ITERS=${DENSE_QUICKSTART_ITERS:-200}  # the tiny config's schedule length
CONFIG=configs/geometry/sapiens2_tiny_normal_synthetic.py
mkdir -p "$OUT"
export DATA_ROOT="$OUT/data/"

$PYTHON tools/dataset_converters/make_synthetic_dense.py "$OUT/data/synthetic_dense" --num 16 --tasks normal

$PYTHON tools/train.py "$CONFIG" --work-dir "$OUT/work" \
    --cfg-options train_cfg.max_iters="$ITERS" train_cfg.val_interval="$ITERS"
$PYTHON tools/test.py "$CONFIG" "$OUT/work/iter_$ITERS.pth" --work-dir "$OUT/work" --out "$OUT/metrics.json"
cat "$OUT/metrics.json"; echo

$PYTHON tools/demo/dense_demo.py "$CONFIG" "$OUT/work/iter_$ITERS.pth" --input "$OUT/data/synthetic_dense/normal/rgb" \
    --output "$OUT/vis" --save-pred --batch-size 4 --fg-mask "$OUT/data/synthetic_dense/normal/mask"
echo "dense quickstart: metrics in $OUT/metrics.json, pictures in $OUT/vis"
