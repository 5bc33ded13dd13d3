# Hierarchical grouping, cross-image negative sampling ablation (Table 1 bottom / Fig. 3): cns = 20.
_base_ = './hiergroup_resnet50-hypercolumn_7xb10-adam-80e_voc12aug-coco.py'
model = dict(cns=20)
