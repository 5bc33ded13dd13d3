# Fine-tuning on 1% of the Cityscapes training labels (deterministic subset, seed 0).
_base_ = ['./finetune-deeplabv1_r50-d8_4xb2-40k_cityscapes-512x1024.py']
train_dataloader = dict(dataset=dict(ann_file='splits/train_1pct.txt'))
