# Speed variant of flowe_resnet50-d8_64xb2-lars-60k_bdd100k.py: the online projector / predictor
# run on 512 valid locations per image drawn uniformly (1/8 of the 64x64 grid of a 512x512
# crop), an unbiased estimate of eq. 5's mean over all valid locations at ~1x BYOL's step cost
# instead of 1.34x (configs/flowe/README.md, "Cost"). Opt-in; the paper config uses every location.
_base_ = ['./flowe_resnet50-d8_64xb2-lars-60k_bdd100k.py']
model = dict(num_pixels=512)
