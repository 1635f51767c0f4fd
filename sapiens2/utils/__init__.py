from .checkpoint import (CheckpointMismatchError, load_pretrained, load_state_dict_checked, read_state_dict,
                         save_safetensors, select_prefix, state_dict_mismatch)

__all__ = [
    'CheckpointMismatchError', 'load_pretrained', 'load_state_dict_checked', 'read_state_dict', 'save_safetensors',
    'select_prefix', 'state_dict_mismatch'
]
