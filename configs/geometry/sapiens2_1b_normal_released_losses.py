# Sapiens2-1B surface normals with the released training recipe's losses (docs/architecture.md §3.5) instead of the
# paper's (1 - cos) + L2 + gradient L2 of sapiens2_1b_normal.py: cosine ×10, L1 ×1, gradient MSE ×10.
_base_ = ['./sapiens2_1b_normal.py']

model = dict(
    decode_head=dict(loss_decode=[
        dict(type='CosineSimilarityLoss', loss_weight=10.0, loss_name='loss_cos'),
        dict(type='PixelRegressionLoss', mode='l1', loss_weight=1.0, loss_name='loss_l1'),
        dict(type='GradientLoss', mode='mse', loss_weight=10.0, loss_name='loss_grad'),
    ]))
