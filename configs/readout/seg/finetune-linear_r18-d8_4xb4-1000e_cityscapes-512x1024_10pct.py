# CACL Table 4: fine-tuning on 10% of the Cityscapes training labels (deterministic subset, seed 0).
_base_ = ['./finetune-linear_r18-d8_4xb4-1000e_cityscapes-512x1024.py']
train_dataloader = dict(dataset=dict(ann_file='splits/train_10pct.txt'))
