# Table 3 ablations share this 16k-iteration schedule (paper sec. 4.5). Row: full model.
_base_ = ['./flowe_resnet50-d8_64xb2-lars-60k_bdd100k.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', T_max=15500, by_epoch=False, begin=500, end=16000),
]
train_cfg = dict(max_iters=16000)
