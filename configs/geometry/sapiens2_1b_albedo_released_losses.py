# Sapiens2-1B albedo with the released training recipe's losses (docs/architecture.md §3.6) instead of the paper's
# L2 + gradient L2 + mean colour of sapiens2_1b_albedo.py: L1 ×2, gradient MSE ×2, chromaticity L1 ×1.
_base_ = ['./sapiens2_1b_albedo.py']

model = dict(
    decode_head=dict(loss_decode=[
        dict(type='PixelRegressionLoss', mode='l1', loss_weight=2.0, loss_name='loss_l1'),
        dict(type='GradientLoss', mode='mse', loss_weight=2.0, loss_name='loss_grad'),
        dict(type='ChromaticityL1Loss', loss_weight=1.0, loss_name='loss_chroma'),
    ]))
