# Table 3 row "non-pixel": global average pooling after the encoder, BYOL's vector loss.
_base_ = ['./flowe_resnet50-d8_64xb2-lars-16k_bdd100k_ablation-full.py']
model = dict(pixel=False, flow_net=None)  # global loss: no flow needed
