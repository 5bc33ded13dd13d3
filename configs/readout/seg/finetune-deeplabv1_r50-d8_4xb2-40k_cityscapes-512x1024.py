# Label-limited fine-tuning (FlowE Table 5, CACL Table 4): the pretrained encoder is NOT frozen;
# the same head and schedule as the frozen Cityscapes readout. 100% of the labels; the 1/5/10%
# configs read subsets made once with
#   python tools/misc/make_label_subsets.py THIS data/cityscapes/splits --seed 0
_base_ = ['./deeplabv1_r50-d8-frozen_4xb2-40k_cityscapes-512x1024.py']
model = dict(backbone=dict(frozen_stages=-1, norm_eval=False,
                           norm_cfg=dict(type='SyncBN', requires_grad=True)))
