# Runtime shared by every sapiens2 config: iteration-based training, logging, checkpoints, visualisation.
default_scope = 'sapiens2'

train_cfg = dict(type='IterBasedTrainLoop', max_iters=10000, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # keeps the last `max_keep_ckpts` checkpoints and, when a val metric exists, the best one. SafeCheckpointHook:
    # MMEngine's CheckpointHook writing `<name>.partial` then renaming it, deleting rotated-out checkpoints only
    # after that, refusing non-finite weights and storing every rank's RNG state (exact resume)
    checkpoint=dict(type='SafeCheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=3, save_best='auto',
                    save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo when no GPU is present. `timeout` (seconds) bounds every collective: when a
    # rank stops responding the others fail after this long (the rank is named in the log within ~30 s, see
    # sapiens2/engine/rank_watch.py) and exit with status 1. It must exceed the longest legitimate wait of one rank
    # for the others (a rank-0 checkpoint write, metric computation); override with
    # --cfg-options env_cfg.dist_cfg.timeout=SECONDS.
    dist_cfg=dict(backend='nccl', timeout=1800),
)

vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')

log_processor = dict(by_epoch=False, window_size=50)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
