# Table 3 ablations share this 16k-iteration schedule (paper sec. 4.5). Row: full model.
_base_ = ['./flowe_resnet50-d8_64xb2-lars-60k_bdd100k.py']
param_scheduler = [  # cosine from lr 0.1 without warm-up, as the 60k schedule (sec. 4.3)
    dict(type='CosineAnnealingLR', T_max=16000, by_epoch=False, begin=0, end=16000),
]
train_cfg = dict(max_iters=16000)
