"""tools/analysis/plot_curves.py: finding the newest run, default panels, the PNG, and errors that name the keys."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import pytest

from conftest import REPO_ROOT

sys.path.insert(0, osp.join(REPO_ROOT, 'tools', 'analysis'))
from plot_curves import DIAGNOSTICS, default_panels, find_scalars, plot_curves, read_scalars  # noqa: E402


def write_run(work_dir, stamp, records):
    path = work_dir / stamp / 'vis_data' / 'scalars.json'
    path.parent.mkdir(parents=True)
    path.write_text(''.join(json.dumps(r) + '\n' for r in records))
    return path


RECORDS = [dict(iter=i, loss=3.0 / i, loss_mae=1.0 / i, teacher_entropy=5.0 - i / 10, teacher_batch_entropy=5.2,
                lr=1e-3) for i in range(1, 11)] + [{'coco/AP': 0.5, 'step': 10}]


def test_default_panels_and_newest_run(tmp_path):
    write_run(tmp_path, '20260101_000000', RECORDS[:2])
    newest = write_run(tmp_path, '20260102_000000', RECORDS)
    assert find_scalars(str(tmp_path)) == str(newest)
    assert find_scalars(str(newest.parent.parent)) == str(newest)
    records = read_scalars(str(newest))
    assert len(records) == 11
    assert default_panels(records) == ['loss', 'loss_mae', DIAGNOSTICS, 'coco/AP']


def test_png_has_one_panel_per_entry(tmp_path):
    out = plot_curves(RECORDS, ['loss', 'loss_mae', DIAGNOSTICS, 'coco/AP'], str(tmp_path / 'c.png'))
    img = cv2.imread(out)
    assert img.shape[:2] == (2 * 330, 3 * 462)  # 2 rows x 3 columns of 4.2 x 3.0 in at 110 dpi
    assert img.std() > 10  # something was drawn


def test_errors_name_the_file_and_the_keys(tmp_path):
    with pytest.raises(KeyError, match=r"not logged: \['val_loss'\].*'loss_mae'"):
        plot_curves(RECORDS, ['loss', 'val_loss'], str(tmp_path / 'c.png'))
    bad = write_run(tmp_path, '20260103_000000', RECORDS[:1])
    bad.write_text(bad.read_text() + '{"iter": 2, "loss": \n')
    with pytest.raises(ValueError, match=r'scalars.json:2 is not a JSON line'):
        read_scalars(str(bad))
    with pytest.raises(FileNotFoundError, match='no vis_data/scalars.json'):
        find_scalars(str(tmp_path / 'nothing_here'))


def test_command_line(tmp_path):
    write_run(tmp_path, '20260102_000000', RECORDS)
    res = subprocess.run([sys.executable, osp.join(REPO_ROOT, 'tools', 'analysis', 'plot_curves.py'), str(tmp_path),
                          '--keys', 'loss+loss_mae', '--log-y'], capture_output=True, text=True,
                         env=dict(os.environ, MPLBACKEND='Agg'))
    assert res.returncode == 0, res.stderr
    assert 'wrote 1 panel(s) of 11 logged lines' in res.stdout
    assert cv2.imread(str(tmp_path / 'curves.png')) is not None
