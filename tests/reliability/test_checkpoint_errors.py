"""Issue #12 items 6 and 4 (incomplete DCP directory): checkpoint errors name the file, say what is wrong with it
and what to do, instead of safetensors' bare header error, torch's zip error or "checkpoint not found"."""
import os

import pytest
import torch
import torch.distributed.checkpoint as dcp
from mmengine.runner.checkpoint import _load_checkpoint

import sapiens2.engine  # noqa: F401  (installs the local checkpoint loader)
from sapiens2.engine.strategies.fully_shard_strategy import check_sharded_checkpoint
from sapiens2.utils.checkpoint import CheckpointReadError, read_state_dict, save_safetensors


def truncate(path):
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


def test_truncated_safetensors_names_the_file(tmp_path):
    path = str(tmp_path / 'model.safetensors')
    save_safetensors({'w': torch.zeros(64)}, path)
    truncate(path)
    with pytest.raises(CheckpointReadError, match=rf'cannot read checkpoint {path} \(\d+ bytes\): it is not a '
                                                  r'complete safetensors file .*download or copy it again'):
        read_state_dict(path)
    with pytest.raises(CheckpointReadError, match='model.safetensors'):
        _load_checkpoint(path)  # load_from / init_cfg through MMEngine's loader


def test_truncated_pth_names_the_file(tmp_path):
    path = str(tmp_path / 'iter_4.pth')
    torch.save(dict(state_dict={'w': torch.zeros(64)}, meta={}), path)
    truncate(path)
    with pytest.raises(CheckpointReadError, match=rf'cannot read checkpoint {path} .*use an earlier checkpoint'):
        _load_checkpoint(path)


def sharded_checkpoint(path):
    dcp.save({'state_dict': {'w': torch.zeros(4)}, 'optimizer': {'state.w.exp_avg': torch.ones(4)}},
             checkpoint_id=str(path), no_dist=True)
    torch.save(dict(meta={}), path / 'extra_state.pth')
    return str(path)


def test_fsdp_directory_given_to_a_non_fsdp_config(tmp_path):
    """Before: "checkpoint not found" for a directory that plainly exists."""
    path = sharded_checkpoint(tmp_path / 'iter_6.pth')
    with pytest.raises(FileNotFoundError, match=r'is a sharded FSDP checkpoint .*configs/_base_/strategies/fsdp.py'
                                                r'.*tools/convert/consolidate_fsdp.py'):
        _load_checkpoint(path)


def test_incomplete_fsdp_directory_lists_what_is_missing(tmp_path):
    """Before: an explicit --resume of such a directory failed inside dcp.load on every rank (torchrun reported a
    generic ChildFailedError)."""
    path = sharded_checkpoint(tmp_path / 'iter_6.pth')
    check_sharded_checkpoint(path)  # complete: passes
    for name in os.listdir(path):
        if name.endswith('.distcp'):
            os.remove(os.path.join(path, name))
    os.remove(os.path.join(path, 'extra_state.pth'))
    with pytest.raises(FileNotFoundError, match=r'incomplete FSDP checkpoint .*iter_6.pth: missing __0_0.distcp, '
                                                r'extra_state.pth'):
        check_sharded_checkpoint(path)
    os.remove(os.path.join(path, '.metadata'))  # shards without .metadata: the save never finished
    open(os.path.join(path, '__0_0.distcp'), 'wb').close()
    with pytest.raises(FileNotFoundError, match='incomplete FSDP checkpoint: it has shard files but no .metadata'):
        _load_checkpoint(path)


def test_interrupted_save_is_named(tmp_path):
    (tmp_path / 'iter_8.pth.partial').write_bytes(b'torn')
    with pytest.raises(FileNotFoundError, match=r'iter_8.pth.partial is a save that was interrupted'):
        _load_checkpoint(str(tmp_path / 'iter_8.pth'))
