# Test-only tiny config for tools/train.py, tools/test.py and tools/dist_train.sh: a 2-block Sapiens2 with a 1x1
# conv head on 64x48 synthetic images, the post-training schedule (layer decay) and runtime of the real configs.
_base_ = ['../../../configs/_base_/schedules/adamw_warmup_linear.py']
# tools_test_modules.py lives next to this file: put tests/tools/data on PYTHONPATH.
custom_imports = dict(imports=['tools_test_modules'], allow_failed_imports=False)

embed_dims = 32
model = dict(
    type='ToolsTestEstimator',
    backbone=dict(type='Sapiens2', arch=dict(embed_dims=embed_dims, num_layers=2, num_heads=2,
                                             feedforward_channels=64, num_tokenizer_layers=1),
                  img_size=(64, 48), out_type='featmap'),
    decode_head=dict(type='ToolsTestHead', in_channels=embed_dims),
    data_preprocessor=dict(type='BaseDataPreprocessor'))

dataset = dict(type='ToolsTestDataset', num_samples=8, img_size=(64, 48))
train_dataloader = dict(batch_size=2, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
                        collate_fn=dict(type='default_collate'), dataset=dataset)
val_dataloader = dict(batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                      collate_fn=dict(type='default_collate'), dataset=dataset)
test_dataloader = val_dataloader
val_evaluator = dict(type='ToolsTestMetric')
test_evaluator = val_evaluator

max_iters = 4
warmup_iters = 2
schedule_iters = 8  # the lr schedule outlives max_iters so that runs extended with --cfg-options still learn
optim_wrapper = dict(optimizer=dict(lr=1e-3), paramwise_cfg=dict(layer_decay_rate=0.8))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=warmup_iters, end=schedule_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=2, save_best='mse',
                                                              rule='less'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')
