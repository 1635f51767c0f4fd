from .ddp_strategy import DeviceAgnosticDDPStrategy
from .fully_shard_strategy import FullyShardStrategy, is_sharded_checkpoint

__all__ = ['DeviceAgnosticDDPStrategy', 'FullyShardStrategy', 'is_sharded_checkpoint']
