# CACL Table 4 (limited sample supervision): the pretrained ResNet-18 with a random 1x1
# classifier, fine-tuned end to end (backbone NOT frozen) for 1000 epochs at lr 0.3. 100% of the
# labels; the 1/5/10% configs read subsets written once with
#   python tools/misc/make_label_subsets.py THIS data/cityscapes/splits --seed 0
_base_ = ['./linear_r18-d8-frozen_4xb4-300e_cityscapes-512x1024.py']
model = dict(backbone=dict(frozen_stages=-1, norm_eval=False,
                           norm_cfg=dict(type='SyncBN', requires_grad=True)))
optim_wrapper = dict(optimizer=dict(lr=0.3))
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=1000, by_epoch=True,
                        convert_to_iter_based=True)]
train_cfg = dict(max_epochs=1000, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=100))
