# Table 3 full row with the online projector / predictor on 512 valid locations per image drawn
# uniformly (an unbiased estimate of eq. 5's mean over all valid locations; README "Cost"): a
# speed variant, checked against the full row (every location, the paper's loss).
_base_ = ['./flowe_resnet50-d8_64xb2-lars-16k_bdd100k_ablation-full.py']
model = dict(num_pixels=512)
