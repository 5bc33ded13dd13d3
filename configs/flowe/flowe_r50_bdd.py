# Short name of the main FlowE config: `tools/dist_train.sh configs/flowe/flowe_r50_bdd.py 64`.
_base_ = ['./flowe_resnet50-d8_64xb2-lars-60k_bdd100k.py']
