"""Argument handling of tools/test.py and the model the export tool builds (in process, no subprocess)."""
import importlib.util
import os
import os.path as osp

import pytest

from conftest import REPO_ROOT


def load_tool(rel_path: str):
    spec = importlib.util.spec_from_file_location('tool_' + osp.basename(rel_path)[:-3], osp.join(REPO_ROOT, rel_path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('tool', ['tools/test.py', 'tools/train.py'])
def test_repeated_cfg_options_are_merged_and_malformed_ones_refused(tool, tmp_path):
    """Both tools as MMEngine's ``DictAction``: a second ``--cfg-options`` adds to the first, values are parsed."""
    module = load_tool(tool)
    extra = ['ckpt.pth'] if tool == 'tools/test.py' else []
    args = module.parse_args(['cfg.py', *extra, '--cfg-options', 'a.b=1', 'c=[1,2]', '--cfg-options', 'd=x'])
    options = args.cfg_options
    assert options == {'a.b': 1, 'c': [1, 2], 'd': 'x'}
    with pytest.raises(SystemExit):
        module.parse_args(['cfg.py', *extra, '--cfg-options', 'train_cfg.max_iters'])


def test_export_tool_keeps_the_keypoint_metadata_of_a_non_308_config():
    """tools/deployment/export.py builds a COCO-WholeBody-133 pose model with its own 133 keypoints (names and flip
    indices written into the export's spec), not the 308-keypoint file."""
    model, _ = load_tool('tools/deployment/export.py').build(
        osp.join(REPO_ROOT, 'configs', 'pose', 'sapiens2_tiny_coco_wholebody133_sample.py'), 'random')
    assert model.dataset_meta['num_keypoints'] == 133 == model.decode_head.conv_pose.out_channels
    assert len(model.dataset_meta['flip_indices']) == 133


def test_human_parsing_converter_refuses_a_split_without_folders_or_id_list(tmp_path):
    """ATR has one folder pair and no official split: ``--splits val`` without ``--split-ids val=FILE`` is refused
    (it would copy the whole dataset as 'val'); with the id list it converts just those samples."""
    import numpy as np
    from PIL import Image
    tool = load_tool('tools/dataset_converters/human_parsing.py')
    for folder in ('JPEGImages', 'SegmentationClassAug'):
        (tmp_path / 'atr' / folder).mkdir(parents=True)
    for stem in ('a', 'b', 'c'):
        Image.fromarray(np.zeros((4, 3, 3), np.uint8)).save(tmp_path / 'atr' / 'JPEGImages' / f'{stem}.jpg')
        Image.fromarray(np.ones((4, 3), np.uint8)).save(tmp_path / 'atr' / 'SegmentationClassAug' / f'{stem}.png')
    out = tmp_path / 'out'
    with pytest.raises(tool.ConversionError, match='--split-ids val=FILE'):
        tool.main(['atr', str(tmp_path / 'atr'), str(out), '--splits', 'val'])
    (tmp_path / 'val.txt').write_text('b\n')
    tool.main(['atr', str(tmp_path / 'atr'), str(out), '--split-ids', f'val={tmp_path / "val.txt"}'])
    assert sorted(os.listdir(out / 'val' / 'masks')) == ['b.png']
    assert sorted(os.listdir(out / 'train' / 'masks')) == ['a.png', 'b.png', 'c.png']  # everything, as documented
