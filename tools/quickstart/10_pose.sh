#!/usr/bin/env bash
# Quickstart, pose step: train the tiny 308-keypoint model on the bundled COCO-WholeBody sample (4 images, 12 people
# with keypoints) on CPU, test it (OKS AP/AR whole body + per part -> metrics.json) and render skeleton overlays
# of its predictions on the sample images under $QUICKSTART_DIR/pose/vis.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-.venv/bin/python}
OUT=${QUICKSTART_DIR:-work_dirs/quickstart}/pose
CONFIG=configs/pose/sapiens2_tiny_308kpt_coco_wholebody_sample.py
ITERS=$($PYTHON -c "from mmengine import Config; print(Config.fromfile('$CONFIG').train_cfg.max_iters)")
SAMPLE=data/coco_wholebody_sample  # bundled with the repository
mkdir -p "$OUT"
export DATA_ROOT=data/

$PYTHON tools/train.py "$CONFIG" --work-dir "$OUT/work"
$PYTHON tools/test.py "$CONFIG" "$OUT/work/iter_$ITERS.pth" --work-dir "$OUT/work" --out "$OUT/metrics.json"
$PYTHON - "$OUT/metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print('part        AP      AR')
for part in ('all', 'body', 'foot', 'face', 'left_hand', 'right_hand'):
    print(f"{part:<10} {m[part + '/coco/AP']:6.3f}  {m[part + '/coco/AR']:6.3f}")
PY

# predictions on the sample images with their ground-truth person boxes, flip test on
$PYTHON tools/demo/pose_demo.py "$CONFIG" "$OUT/work/iter_$ITERS.pth" --input "$SAMPLE" --output "$OUT/vis" \
    --bboxes "$SAMPLE/test_coco_wholebody.json" --flip-test --kpt-thr 0.3 --batch-size 8
echo "pose quickstart: metrics in $OUT/metrics.json, pictures and per-image JSON in $OUT/vis"
