#!/usr/bin/env bash
# Quickstart, pretraining step: self-supervised pretraining (MAE + DINO [CLS] distillation + KoLeo) of the tiny
# backbone on the 4 bundled COCO images (downscaled x3) for 300 CPU iterations, its loss and collapse-diagnostic
# curves as a picture, the export of the EMA teacher backbone to the released pretrain layout and its [CLS] attention
# maps, under $QUICKSTART_DIR/pretrain.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-.venv/bin/python}
OUT=${QUICKSTART_DIR:-work_dirs/quickstart}/pretrain
CONFIG=configs/pretrain/sapiens2_tiny_pretrain_cpu.py
ITERS=$($PYTHON -c "from mmengine import Config; print(Config.fromfile('$CONFIG').train_cfg.max_iters)")
mkdir -p "$OUT/data/tiny_images"
export DATA_ROOT="$OUT/data/"

$PYTHON - data/coco_wholebody_sample "$OUT/data/tiny_images" <<'PY'
import glob, os.path as osp, sys, cv2
for path in sorted(glob.glob(osp.join(sys.argv[1], '*.jpg'))):
    img = cv2.imread(path)
    cv2.imwrite(osp.join(sys.argv[2], osp.basename(path)), cv2.resize(img, (img.shape[1] // 3, img.shape[0] // 3)))
PY
$PYTHON tools/train.py "$CONFIG" --work-dir "$OUT/work"
$PYTHON tools/analysis/plot_curves.py "$OUT/work" --out "$OUT/curves.png" --title "tiny pretraining, 4 images"
$PYTHON tools/convert/pretrain_to_backbone.py "$OUT/work/iter_$ITERS.pth" "$OUT/sapiens2_tiny_pretrain.safetensors"
# the exported teacher's [CLS] attention per head (2 heads) on the training images, at the global-crop size
$PYTHON tools/analysis/attention_maps.py "$OUT/data/tiny_images" "$OUT/attention" --arch "$CONFIG" \
    --checkpoint "$OUT/sapiens2_tiny_pretrain.safetensors" --size 128 96 --device cpu
echo "pretrain quickstart: curves in $OUT/curves.png, teacher backbone in $OUT/sapiens2_tiny_pretrain.safetensors," \
    "attention maps in $OUT/attention"
