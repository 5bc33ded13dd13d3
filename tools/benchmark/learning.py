"""Learning benchmark: does each method's pretraining beat a random-init encoder on a frozen
readout, and does its key ablation keep the paper's sign? (issue 17; a benchmark, not a test)

    .venv/bin/python tools/benchmark/learning.py                  # the whole table, resumable
    .venv/bin/python tools/benchmark/learning.py --methods flowe random --variants main
    .venv/bin/python tools/benchmark/learning.py --tune           # choose the readout recipe
    .venv/bin/python tools/benchmark/learning.py --parts det      # only the MMDet readouts
    .venv/bin/python tools/benchmark/learning.py --methods vader hiergroup --variants diagnostic
    .venv/bin/python tools/benchmark/learning.py --smoke --out-dir /tmp/x   # seconds; CI

What it does, on the demo world (version 3: the class is the shape, since version 2; textures and
tints come from one pool shared by every class and the background; exact flow of every frame
pair, so that FlowE pairs frames 4 apart), at benchmark size
(:data:`WORLD`: 200 clips x 6 frames of 96x128, the last 40 clips are val):

1. pretrains every (method, variant, seed) of :data:`RUNS` from its demo config, adapted to the
   benchmark world (crop sizes, the train clips only, :data:`PRETRAIN_ITERS` iterations with the
   config's own schedule shape, its lr times :data:`TABLE_LR_SCALES`, ``randomness.seed``),
   through ``tools/train.py`` in a child process; the ``supervised`` row trains each seg
   architecture's encoder (the dilated ResNet-18, VADeR's ResNet-18 + FPN decoder, HierGroup's
   hypercolumn) end to end on the train clips' labels (MMSeg, one DeepLab-v1 head, same
   iterations and batch, :func:`supervised_model`), and, for the object readout, Transitive's
   ResNet-18 tower on the train clips' object crops and shape labels (the ranker's budget);
2. reads every frozen encoder out on the train clips' labels and scores the val clips with
   MMSeg's ``IoUMetric``: a linear 1x1 readout and a DeepLab-v1 3x3 conv readout
   (:class:`ConvReadoutHead`), trained on the frozen features with the one recipe
   :data:`READOUT` chosen by ``--tune`` on a random-init encoder; Transitive's encoder is read out
   on object crops (linear classifier and nearest-neighbour retrieval of the shape class,
   ``learning_transitive.py``);
   FlowE's, VADeR's and Transitive's encoders and the two reference rows are also read out by
   MMDet (``learning_det.py``: Faster R-CNN with the FPN header on the frozen encoder, bbox mAP of
   MMDet's ``CocoMetric`` on the val clips, ``faster-rcnn-fpn@r18``; also the class-agnostic
   bbox mAP of the same boxes, ``bbox_mAP_agnostic``);
3. records each encoder's effective rank (PCA directions holding 90% of the val features'
   variance), and the readouts' loss curves;
4. writes every number to ``tools/benchmark/results/learning.json`` (a list of
   ``{"method", "variant", "seed", "readout", "metric", "value"}``; the ``readout`` names the head
   and the encoder architecture, e.g. ``linear@r18-d8``, because each method is compared with
   random init of its own architecture), ``learning.md`` (mean +- std, the targets) and
   ``learning.png``.

The :data:`DIAGNOSTICS` variants (VADeR from MoCo-v2 and its control, HierGroup on trees of the
objects' outlines, Transitive's graph mined with boxes around the moving objects, the detection
readout with the encoder trained too) test causes that ``tools/benchmark/README.md`` names;
they run only with ``--variants diagnostic``, are marked in the table and are left out of the
ablation signs.

Finished runs are skipped: rerunning continues the table (checkpoints in ``--out-dir``; results
are written atomically after every run). The readout recipe was chosen on a train/val split of
the world's *train* clips (``--tune``), and so was each self-supervised seg method's pretraining
lr (``--tune-pretrain``; the table pretrains at :data:`TABLE_LR_SCALES` times its demo config's
lr; Transitive's ranker lr is swept too since ``0306d98``, and the table keeps its demo lr, see
:data:`TABLE_LR_SCALES`); the table reports the val clips.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from child_run import (CHECKPOINT_EVERY, TrainingFailed, code_version,  # noqa: E402
                       reuse_finished, scalar_rows, train_in_child, used_versions)

RESULTS = osp.join(REPO, 'tools/benchmark/results/learning.json')
#: the benchmark world (mmdense.datasets.generate_demo_world arguments)
WORLD = dict(num_clips=200, frames_per_clip=6, height=96, width=128, val_clips=40, seed=0)
#: ``--smoke``'s world (seconds)
SMOKE_WORLD = dict(WORLD, num_clips=4, frames_per_clip=5, val_clips=1)
#: the readouts use every READOUT_STRIDE-th frame of each clip (frames 0 and 3)
READOUT_STRIDE = 3
#: train clips held out by ``--tune`` (recipe selection never sees the val clips)
TUNE_VAL_CLIPS = 30
PRETRAIN_ITERS = 300
#: the supervised row's optimizer (with a 10% warm-up and poly decay, :func:`shared_optimizer`);
#: ``--pretrain-optim shared`` gives it to the pretraining rows too (an experiment: FlowE seed 0
#: then reaches a lower loss but a lower readout, see tools/benchmark/README.md); the table keeps
#: each demo config's own optimizer (``config``)
PRETRAIN_OPTIM = dict(type='AdamW', lr=1e-3, weight_decay=1e-4)
#: pretraining crop (every method; the readouts see the whole 96x128 frame)
CROP = (64, 64)
BATCH = 8
SEEDS = (0, 1, 2)
#: the one readout recipe, chosen by ``--tune`` on the random-init encoder (see README)
READOUT = dict(iters=300, lr=0.03, momentum=0.9, weight_decay=1e-4, batch=8)
HEADS = dict(linear=1, deeplabv1=3)  # head name -> kernel size
#: a feature channel whose train std is under DEAD_STD x the median channel's is dead for the
#: readouts (:func:`standardise`)
DEAD_STD = 1e-3
#: :func:`whiten`'s ridge: every eigenvalue of the train features' covariance is raised by
#: WHITEN_RIDGE x the largest before it is inverted
WHITEN_RIDGE = 1e-3

FLOWE = 'configs/flowe/flowe_resnet18-d8_1xb8-300iters_demo-world.py'
CACL = 'configs/cacl/cacl_resnet18-d8_1xb8-300iters_demo-world.py'
VADER = 'configs/vader/vader_resnet18-fpn_1xb8-300iters_demo-world.py'
HIERGROUP = 'configs/hiergroup/hiergroup_resnet18-hypercolumn_1xb8-300iters_demo-world.py'
HIERGROUP_RANDOM_REGIONS = HIERGROUP[:-len('.py')] + '_random-regions.py'
SUPERVISED = 'configs/readout/seg/deeplabv1_r18-d8-frozen_1xb8-400iters_demo-world.py'

#: the ``class-pairs`` diagnostic's sigma_p: exp(-1 / 0.05) = 2e-9, so eqs. 2-3 never draw a
#: positive across classes nor a negative within one (when the frame shows another class)
CLASS_PAIRS_SIGMA = 0.05
#: the HierGroup diagnostics ``t0.1`` and ``class-pairs-t0.1``: eq. 1's cosine similarities
#: divided by 0.1 (the paper's eq. 1 has none, i.e. 1)
DIAGNOSTIC_TEMPERATURE = 0.1
#: the ``momentum-0.99`` diagnostics' EMA weight of the online parameters (mmengine's
#: ``momentum``): the key encoder's MoCo momentum 0.99, against the papers' 0.999 (0.001)
DIAGNOSTIC_MOMENTUM = 0.01
#: the ``crop-96`` diagnostics' pretraining crop (the table's: :data:`CROP`)
DIAGNOSTIC_CROP = (96, 96)
#: the VADeR ``encoder-lr-1x`` diagnostics' encoder lr multiplier: the decoder's lr, against the
#: demo config's 0.1
DIAGNOSTIC_ENCODER_LR_MULT = 1.0
#: the VADeR ``vflip`` diagnostics' extra per-view transform, put before the demo config's
#: ``RandomAffineView`` (:func:`_add_vertical_flip`): a half turn with probability 0.5. With that
#: transform's horizontal flip (probability 0.5) each view is then unflipped, flipped
#: horizontally, vertically or both, 1/4 each, so a pair's rows are mirrored in half the pairs
DIAGNOSTIC_VFLIP = dict(type='RandomAffineView', scale_range=(1., 1.), rotation_range=(180., 180.),
                        flip_prob=0., prob=0.5)
#: the CACL ``same-position-hard-cycle`` diagnostic's model switches (Table 1's): the pixel
#: head's positive is the pixel at the same crop position of the other frame (not the argmax of
#: the global head's per-pixel affinity, eq. 4) and the cycle is trained towards the identity
#: (not towards the global head's soft target), so no dense target comes from the global head
DIAGNOSTIC_CACL_OWN_TARGETS = dict(pixel_positive='same_position', soft_cycle=False)
#: the CACL ``same-position`` and ``hard-cycle`` diagnostics: one of those two switches each, the
#: other at the paper's setting
DIAGNOSTIC_CACL_SAME_POSITION = dict(pixel_positive='same_position')
DIAGNOSTIC_CACL_HARD_CYCLE = dict(soft_cycle=False)
#: the HierGroup diagnostics that sample from the world-label trees (:func:`class_tree`)
CLASS_TREE_VARIANTS = ('class-tree', 'class-pairs', 'class-pairs-t0.1')
#: (method, variant) -> (pretraining config, model overrides, encoder architecture). The
#: ablations are the papers' key ones (issue 17's table).
RUNS = {
    ('flowe', 'main'): (FLOWE, {}, 'r18-d8'),
    ('flowe', 'no-flow'): (FLOWE, dict(correspondence='identity'), 'r18-d8'),
    ('cacl', 'main'): (CACL, {}, 'r18-d8'),
    ('cacl', 'global-head'): (CACL, dict(heads=('global_', )), 'r18-d8'),
    ('vader', 'main'): (VADER, {}, 'r18-fpn'),
    ('vader', 'unmatched'): (VADER, dict(matching='random'), 'r18-fpn'),
    ('hiergroup', 'main'): (HIERGROUP, {}, 'hypercolumn'),
    ('hiergroup', 'random-regions'): (HIERGROUP_RANDOM_REGIONS, {}, 'hypercolumn'),
    ('transitive', 'main'): (None, {}, 'transitive'),
    ('transitive', 'tracking-only'): (None, {}, 'transitive'),
    # diagnostics (:data:`DIAGNOSTICS`): not the papers' ablations; each tests a cause that
    # tools/benchmark/README.md names for a method that does not learn here
    ('transitive', 'object-boxes'): (None, {}, 'transitive'),
    ('vader', 'moco-init'): (VADER, {}, 'r18-fpn'),
    ('vader', 'momentum-0.99'): (VADER, dict(momentum=DIAGNOSTIC_MOMENTUM), 'r18-fpn'),
    ('cacl', 'momentum-0.99'): (CACL, dict(momentum=DIAGNOSTIC_MOMENTUM), 'r18-d8'),
    ('flowe', 'crop-96'): (FLOWE, {}, 'r18-d8'),
    ('cacl', 'crop-96'): (CACL, {}, 'r18-d8'),
    ('vader', 'crop-96'): (VADER, {}, 'r18-fpn'),
    ('cacl', 'global-head-crop-96'): (CACL, dict(heads=('global_', )), 'r18-d8'),
    ('vader', 'unmatched-crop-96'): (VADER, dict(matching='random'), 'r18-fpn'),
    ('vader', 'encoder-lr-1x'): (VADER, {}, 'r18-fpn'),
    ('vader', 'unmatched-encoder-lr-1x'): (VADER, dict(matching='random'), 'r18-fpn'),
    ('vader', 'vflip'): (VADER, {}, 'r18-fpn'),
    ('vader', 'unmatched-vflip'): (VADER, dict(matching='random'), 'r18-fpn'),
    ('cacl', 'same-position-hard-cycle'): (CACL, DIAGNOSTIC_CACL_OWN_TARGETS, 'r18-d8'),
    ('cacl', 'same-position'): (CACL, DIAGNOSTIC_CACL_SAME_POSITION, 'r18-d8'),
    ('cacl', 'hard-cycle'): (CACL, DIAGNOSTIC_CACL_HARD_CYCLE, 'r18-d8'),
    ('vader', 'moco-only'): (None, {}, 'r18-fpn'),
    ('hiergroup', 'object-edges'): (HIERGROUP, {}, 'hypercolumn'),
    ('hiergroup', 'class-tree'): (HIERGROUP, {}, 'hypercolumn'),
    ('hiergroup', 'class-pairs'): (HIERGROUP, dict(sigma=CLASS_PAIRS_SIGMA), 'hypercolumn'),
    ('hiergroup', 'class-pairs-t0.1'): (
        HIERGROUP, dict(sigma=CLASS_PAIRS_SIGMA, temperature=DIAGNOSTIC_TEMPERATURE),
        'hypercolumn'),
    ('hiergroup', 't0.1'): (HIERGROUP, dict(temperature=DIAGNOSTIC_TEMPERATURE), 'hypercolumn'),
    ('hiergroup', 'random-regions-t0.1'): (
        HIERGROUP_RANDOM_REGIONS, dict(temperature=DIAGNOSTIC_TEMPERATURE), 'hypercolumn'),
    ('supervised', 'main'): (SUPERVISED, {}, 'r18-d8'),
}
#: the variants that test a cause rather than an ablation of the paper; run only with
#: ``--variants diagnostic``, left out of the ablation signs:
#:
#: * VADeR ``moco-init``: the paper's starting point (sec. 3.2) instead of the demo config's
#:   from-scratch one. The encoder is initialised from MoCo-v2 pretrained on the same frames
#:   for the same iterations (:func:`mocov2_config`) and trains at 1e-4 x the decoder's lr, the
#:   paper's ratio (3e-7 / 3e-3). Only these two follow the paper. The rest is the benchmark's
#:   demo setting: MMPretrain's demo MoCo-v2 (queue 256, momentum 0.99, no blur, crops of
#:   30-100% of the frame area, 300 iterations of batch 8 at lr 0.03) against the official MoCo v2's
#:   200 ImageNet epochs; VADeR's demo lr 0.03 at batch 8 with warm-up and cosine decay (the
#:   paper: constant 3e-3 at batch 128), 300 iterations (the paper: about 6M), a 2048-pixel
#:   queue, no blur, 64 px views. At 1e-4 x the lr the encoder stays within about 1e-4 of MoCo's
#:   weights, so the row reads a (nearly) frozen MoCo encoder plus a decoder trained by VADeR;
#: * VADeR ``moco-only``: its control, with no VADeR training: the random row's encoder and
#:   decoder with the encoder replaced by the same MoCo-v2 checkpoint
#:   (:func:`moco_only_checkpoint`). ``moco-init`` minus ``moco-only`` is what VADeR's objective
#:   adds to a MoCo encoder;
#: * HierGroup ``object-edges``: region trees from edges that follow the objects' outlines (half
#:   the world's instance boundaries, half the colour gradient, :func:`object_edges`), standing in
#:   for a contour detector trained on human boundaries (the paper's structured edges, trained on
#:   BSDS). It reads the world's instance maps, so it is an upper bound, never a method setting.
#: * HierGroup ``class-tree``: the region tree of the world's labels (:func:`class_tree`): one
#:   region per object instance (and one for the background), merging at height 0 within a
#:   shape class and at 1 across classes, sampled by eqs. 2-3 with the paper's sigma_p. The best
#:   tree eqs. 2-3 can be given: what the method makes of a perfect grouping;
#: * HierGroup ``class-pairs``: the same tree with sigma_p = :data:`CLASS_PAIRS_SIGMA`, so eqs.
#:   2-3 draw positives from the anchor's class and negatives from other classes only: eq. 1
#:   with the pairs its "supervised setting" takes from annotations (the paper, sec. 3). If this
#:   does not beat random init, the objective, head or budget cannot carry class information into
#:   the readout, whatever the pairs;
#: * HierGroup ``t0.1`` and ``class-pairs-t0.1``: ``main`` and ``class-pairs`` with eq. 1's
#:   cosine similarities divided by :data:`DIAGNOSTIC_TEMPERATURE`. With the paper's 1 the
#:   logits span [-1, 1]: the loss can fall only from ln 11 = 2.40 to ln(1 + 10 e^-2) = 0.86,
#:   and the softmax weighs every negative about alike. Tests whether that, rather than the
#:   pairs, limits what the objective teaches at this budget;
#: * HierGroup ``random-regions-t0.1``: the ``random-regions`` ablation at the same
#:   temperature, so that main minus ablation can be read where eq. 1 can learn its pairs
#:   (``t0.1`` minus ``random-regions-t0.1``): does the UCM tree add to a random partition of
#:   the same region count once the temperature is not the limit?
#: * CACL and VADeR ``momentum-0.99``: the key (momentum) encoder's MoCo momentum 0.99 instead of
#:   the papers' 0.999 (:data:`DIAGNOSTIC_MOMENTUM`; MMPretrain's demo MoCo-v2 above uses 0.99
#:   too). At 0.999 the key encoder moves 0.1% of the way to the online one per step, so after
#:   the table's 300 steps it still holds 0.999^300 = 74% of its random init, and the keys the
#:   queries must match (and the queues' negatives) are mostly a random network's; at 0.99,
#:   0.99^300 = 5%. Tests whether the momentum's time constant (1000 steps against 100), not
#:   the objective, keeps the two MoCo methods near random init at this budget;
#: * FlowE, CACL and VADeR ``crop-96``: pretraining crops (views) of 96x96
#:   (:data:`DIAGNOSTIC_CROP`) instead of the table's 64x64 (:data:`CROP`), so CACL's and
#:   FlowE's stride-8 maps are 12x12 instead of 8x8, and VADeR's top FPN levels 6x6 / 3x3
#:   instead of 4x4 / 2x2. Tests the cause the READMEs name for CACL (the dense heads on an
#:   8x8 map) and VADeR (64 px views whose top levels are position codes). Each iteration then
#:   sees 2.25x the pixels of the table's (and of the supervised row's). CACL's
#:   ``global-head-crop-96`` and VADeR's ``unmatched-crop-96`` are their ablations at the same
#:   crop, so main minus ablation can be read at 96 too (for CACL: do the dense heads add more
#:   on a 12x12 map than on an 8x8 one?);
#: * VADeR ``encoder-lr-1x``: the encoder trained at the decoder's lr
#:   (:data:`DIAGNOSTIC_ENCODER_LR_MULT`) instead of the demo config's 0.1 x. The paper's small
#:   encoder lr (1e-4 x) keeps a MoCo-v2 encoder nearly fixed; the demo encoder starts from
#:   scratch, so at 0.1 x its lr (0.0009 at the table's x0.3, cosine-decayed over 300 steps) it
#:   may stay near random init, and the decoder the readout reads be trained on top of a random
#:   encoder. Tests whether that, rather than the objective, holds the row at +0.9 / +1.2 at this
#:   budget; ``unmatched-encoder-lr-1x`` is the ablation at the same lrs. Only with the demo
#:   config's optimizer (``--pretrain-optim config``): the shared one has no multiplier;
#: * VADeR ``vflip``: each view also flipped vertically with probability 0.5
#:   (:data:`DIAGNOSTIC_VFLIP`). The paper's views (MoCo's) flip only horizontally, so a
#:   scene point's column is mirrored between the views in half the pairs but its row order
#:   never is, and the table's decoder collapses to a code of the pixel row (its first
#:   principal component, 62% of the variance, correlates -0.95 with the row), which the
#:   pixel contrast rewards. With rows mirrored as often as columns, a code of the row (or the
#:   column) no longer matches a positive. Tests whether that shortcut is what holds the row at
#:   +0.9 / +1.2;
#:   ``unmatched-vflip`` is the ablation with the same views;
#: * CACL ``same-position-hard-cycle``: the pixel head's positives at the same crop position and
#:   the cycle head's identity target (:data:`DIAGNOSTIC_CACL_OWN_TARGETS`, the switches of the
#:   paper's Table 1) instead of the paper's full setting, where both dense targets come from
#:   the global head's per-pixel outputs (eq. 4's argmax, the soft cycle), which only its pooled
#:   loss (eq. 3) trains. If those outputs are near constant over a frame, eq. 4's positive is
#:   an arbitrary pixel of the other frame and the soft target near uniform, and the dense heads
#:   are rewarded for frame-constant features (what CACL's features are made of: 56-67% frame
#:   at 3000 iterations). Tests whether that, rather than the budget, keeps the dense heads from
#:   adding to the global head here. The two views share one crop box and flip, so the same
#:   position is the same scene point where the scene did not move between the frames;
#: * CACL ``same-position`` and ``hard-cycle``: one switch of ``same-position-hard-cycle`` each
#:   (:data:`DIAGNOSTIC_CACL_SAME_POSITION`, :data:`DIAGNOSTIC_CACL_HARD_CYCLE`), the other target
#:   at the paper's setting. Tell which of the two dense targets taken from the global head
#:   (eq. 4's positive, the soft cycle) is behind ``same-position-hard-cycle``'s lead over main
#:   at 1000 iterations;
#: * ``detector-trained`` (random init and supervised, detection only): the detection readout's
#:   detector and schedule with the encoder trained too (``learning_det.DET_TRAINED_READOUT``).
#:   What the whole detector reaches at the readout's budget from that start: a ceiling for the
#:   frozen readout, and a check of the issue's detection target.
DET_DIAGNOSTICS = (('random', 'detector-trained'), ('supervised', 'detector-trained'))
DIAGNOSTICS = (('vader', 'moco-init'), ('vader', 'moco-only'), ('vader', 'momentum-0.99'),
               ('cacl', 'momentum-0.99'), ('flowe', 'crop-96'), ('cacl', 'crop-96'),
               ('vader', 'crop-96'), ('cacl', 'global-head-crop-96'),
               ('vader', 'unmatched-crop-96'), ('vader', 'encoder-lr-1x'),
               ('vader', 'unmatched-encoder-lr-1x'), ('vader', 'vflip'),
               ('vader', 'unmatched-vflip'), ('cacl', 'same-position-hard-cycle'),
               ('cacl', 'same-position'), ('cacl', 'hard-cycle'),
               ('hiergroup', 'object-edges'),
               ('hiergroup', 'class-tree'), ('hiergroup', 'class-pairs'),
               ('hiergroup', 'class-pairs-t0.1'), ('hiergroup', 't0.1'),
               ('hiergroup', 'random-regions-t0.1'),
               ('transitive', 'object-boxes')) + DET_DIAGNOSTICS
#: the object-edges diagnostic's edge recipe (:func:`object_edges`)
OBJECT_EDGES = dict(grad_weight=0.5)
#: the demo config of VADeR's MoCo-v2 initialisation (the ``moco-init`` diagnostic)
MOCOV2 = 'configs/baselines/mocov2_resnet18_1xb8-300iters_demo-world.py'
#: lr of VADeR's MoCo-initialised encoder relative to its decoder's (the paper: 3e-7 / 3e-3)
VADER_ENCODER_LR_MULT = 1e-4
#: architecture -> config whose model builds it (random-init rows use the same)
ARCH_CONFIG = {'r18-d8': FLOWE, 'r18-fpn': VADER, 'hypercolumn': HIERGROUP}
#: the ``supervised`` row's model for each architecture other than ``r18-d8`` (whose model is
#: :data:`SUPERVISED`'s): :data:`SUPERVISED`'s model with the encoder swapped for VADeR's ResNet-18
#: + FPN decoder (the VADeR readout config's) or HierGroup's Res3 + Res4 hypercolumn (the
#: HierGroup readout config's), trained end to end under the same DeepLab-v1 3x3 head
SUPERVISED_ARCH_CONFIG = {
    'r18-fpn': 'configs/readout/seg/linear-decoder_r18-fpn-frozen_1xb8-400iters_demo-world.py',
    'hypercolumn':
        'configs/readout/seg/deeplabv3_r18-hypercolumn-frozen_1xb8-400iters_demo-world.py'}
#: Transitive's benchmark encoder (learning_transitive.py): ResNet-18 on 64x64 object patches
TRANSITIVE_ARCH = 'r18-patch64'
METHODS = ('flowe', 'cacl', 'vader', 'hiergroup', 'transitive', 'random', 'supervised')
#: the methods read out by MMDet too, in their main setting (learning_det.py; the issue's FlowE,
#: VADeR and Transitive, and the two reference rows)
DET_METHODS = ('flowe', 'vader', 'transitive', 'random', 'supervised')
PARTS = ('seg', 'object', 'det')
#: the metrics that score a readout (the table's rows, the ablation signs, the plot, the log)
SCORE_METRICS = ('mIoU', 'accuracy', 'bbox_mAP')


def variant_kind(method, variant):
    """``'main'`` (the paper's setting), ``'ablation'`` (the paper's key ablation) or
    ``'diagnostic'`` (:data:`DIAGNOSTICS`)."""
    if variant == 'main':
        return 'main'
    return 'diagnostic' if (method, variant) in DIAGNOSTICS else 'ablation'


def variants_of(method):
    """Every variant name of ``method`` that a run can have (sorted): ``'main'`` and its
    ablations and diagnostics (:data:`RUNS`, :data:`DET_DIAGNOSTICS`)."""
    return sorted({v for (m, v) in set(RUNS) | set(DET_DIAGNOSTICS) if m == method} | {'main'})


def check_only(only, methods, kinds):
    """The ``--only`` names that would run nothing, as one message naming each and the fix
    (``''`` when every name picks a run). A name is unknown for the chosen ``methods``, or it is
    of a ``--variants`` kind not among ``kinds`` (e.g. a diagnostic without ``--variants
    diagnostic``)."""
    chosen = {v for m in methods for v in variants_of(m)}
    problems = []
    for name in only or ():
        kinds_of = {variant_kind(m, name) for m in methods if name in variants_of(m)}
        if not kinds_of:
            problems.append(f'{name!r} is not a variant of --methods {" ".join(methods)} '
                            f'(they have: {", ".join(sorted(chosen))})')
        elif not kinds_of & set(kinds):
            problems.append(f'{name!r} is a {"/".join(sorted(kinds_of))} variant: add '
                            f'--variants {" ".join(sorted(kinds_of))}')
    return '; '.join(problems)


def log(msg):
    print(f'[learning {time.strftime("%H:%M:%S")}] {msg}', flush=True)


# ----------------------------------------------------------------------------- results file
def load_results(path):
    if not osp.exists(path):
        return []
    with open(path) as f:
        return json.load(f)


def save_results(path, records):
    """Atomic write (:func:`mmdense.utils.checkpoint.atomic_write_bytes`): an interrupted run
    never leaves a cut file."""
    from mmdense.utils.checkpoint import atomic_write_bytes
    atomic_write_bytes(json.dumps(records, indent=1).encode(), path)


def versions_file(results):
    """The file next to ``results`` that names the code version of each run (``{run: version}``,
    run as ``method/variant/seed/part``; :func:`run_pending`)."""
    return osp.splitext(results)[0] + '.versions.json'


def load_versions(results):
    path = versions_file(results)
    if not osp.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def save_versions(results, versions):
    """Write ``{run: version}`` to :func:`versions_file` of ``results``, atomically."""
    from mmdense.utils.checkpoint import atomic_write_bytes
    atomic_write_bytes(json.dumps(versions, indent=1, sort_keys=True).encode(),
                       versions_file(results))


def run_key(*item):
    """A run's name in :func:`versions_file`: its :func:`run_pending` item joined by ``/``; the
    table's is ``method/variant/seed/part``, other tools' items may be longer or keyed
    otherwise."""
    return '/'.join(map(str, item))


def record_run(record):
    """The :func:`run_key` of the table run that wrote ``record``."""
    return run_key(record['method'], record['variant'], record['seed'],
                   part_of(record['readout']))


def versions_line(results, records):
    """The report's line saying which code version made the runs of ``records`` (their
    ``method/variant/seed/part`` in :func:`versions_file`; rows of a ``--baseline`` file or from
    before the versions were kept count as unrecorded)."""
    versions = load_versions(results)
    runs = {record_run(r) for r in records}
    count = {}
    for run in runs:
        key = versions.get(run, 'not recorded')
        count[key] = count.get(key, 0) + 1
    said = ', '.join(f'{v} ({n} runs)' for v, n in sorted(count.items(), key=lambda kv: -kv[1]))
    return f'Code version of the runs: {said}.\n'


def run_pending(todo, results, is_done, run, describe):
    """Run, one at a time, each item of ``todo`` whose records are not in the results file
    ``results`` yet (``is_done(records, item)``): ``run(item)`` returns its records (None: the
    item was skipped), which are appended to the re-read file (several runners may append) and
    saved atomically, and the code versions that made it go to :func:`versions_file` (this
    checkout's :func:`code_version`, and those of the training runs it trained or reused, which
    can be older: ``a,b``); a progress line with an ETA names each (``describe(item,
    records)``). Returns every record of the file."""
    records = load_results(results)
    pending = [t for t in todo if not is_done(records, t)]
    version = code_version()
    log(f'{len(todo)} runs, {len(todo) - len(pending)} already in {results}; code {version}')
    t0, done = time.time(), 0
    for i, item in enumerate(pending):
        used_versions(clear=True)
        recs = run(item)
        if recs is None:
            continue
        # this code read it out; the training runs it trained or reused name theirs
        made_by = ','.join(sorted(used_versions() | {version}))
        versions = load_versions(results)
        versions[run_key(*item)] = made_by
        # the version first: a run whose records were saved is never run again
        save_versions(results, versions)
        records = load_results(results) + recs
        save_results(results, records)
        done += 1
        eta = (time.time() - t0) / done * (len(pending) - i - 1)
        log(f'[{i + 1}/{len(pending)}] {describe(item, recs)}; '
            f'eta {time.strftime("%H:%M:%S", time.gmtime(eta))}')
    return records


def part_of(readout):
    """The part of a run a readout belongs to: 'object' (Transitive's object readout, its
    encoder's effective rank and the loss of the training that made it), 'det' (the MMDet
    readout) or 'seg' (the seg readouts, their encoder's effective rank and the pretraining
    loss)."""
    return 'object' if readout.endswith(f'@{TRANSITIVE_ARCH}') else \
        'det' if readout.startswith('faster-rcnn') else 'seg'


def has_run(records, method, variant, seed, part):
    """Whether ``part`` (see :func:`part_of`) of a run is in ``records``."""
    return any(r['method'] == method and r['variant'] == variant and r['seed'] == seed and
               part_of(r['readout']) == part for r in records)


# ----------------------------------------------------------------------------- world
def make_world(out_dir, world=WORLD, with_ucm=True):
    """The benchmark world, its split files for every consumer and (for HierGroup, when
    ``with_ucm``) its UCM trees; all reused when present."""
    from mmdense.datasets import generate_demo_world
    root = osp.join(out_dir, 'world')
    meta = generate_demo_world(root, num_workers=2, verbose=False, **world)
    train = meta['splits']['train']
    n = world['frames_per_clip']
    # the benchmark world's 160 train clips: 130 / 30 (a smoke world's 3: 2 / 1)
    n_tune = min(TUNE_VAL_CLIPS, max(1, len(train) // 3))
    tune = dict(tune_train=train[:-n_tune], tune_val=train[-n_tune:])
    files = {}
    for name, clips in dict(train=train, val=meta['splits']['val'], **tune).items():
        # frame list for MMPretrain's CustomDataset (HierGroup reads single frames)
        files[f'{name}_frames.txt'] = [f'{c}/{t:05d}.png' for c in clips for t in range(n)]
        files[f'{name}.txt'] = [f'{c}/{t:05d}' for c in clips for t in range(n)]
        files[f'{name}_clips.txt'] = [f'frames/{c}' for c in clips]
        files[f'readout_{name}.txt'] = [f'{c}/{t:05d}' for c in clips
                                        for t in range(0, n, READOUT_STRIDE)]
    for name, lines in files.items():
        path = osp.join(root, 'splits', name)
        if not osp.exists(path):
            with open(path, 'w') as f:
                f.writelines(line + '\n' for line in lines)
    ucm = osp.join(out_dir, 'world_ucm')
    if with_ucm:
        # every time: the cache skips the trees it holds for a frame's current bytes (sha1) and
        # recomputes the others, so a world regenerated with other frames never feeds HierGroup
        # stale trees (a completion marker here used to skip that check)
        from mmdense.datasets.ucm import compute_ucm_cache
        out = compute_ucm_cache(osp.join(root, 'frames'), ucm, workers=2)
        if out['computed']:
            log(f'UCM trees of the world frames (HierGroup): {out["computed"]} computed')
    return root, ucm


def frames_fingerprint(root):
    """sha256 of the world's frames (names and bytes), part of the object-edge trees' recipe:
    their edge maps are derived from the frames, which the UCM cache's own per-image check
    (the frame's sha1) does not cover for a given edge map. About a second for 1200 frames."""
    import hashlib
    h = hashlib.sha256()
    frames = osp.join(root, 'frames')
    for clip in sorted(os.listdir(frames)):
        for name in sorted(os.listdir(osp.join(frames, clip))):
            h.update(f'{clip}/{name}\n'.encode())
            with open(osp.join(frames, clip, name), 'rb') as f:
                h.update(f.read())
    return f'frames sha256 {h.hexdigest()}\n'


def read_split(root, split):
    """(images BGR uint8 list, labels (N, H, W) uint8) of a split file ``splits/{split}.txt``
    (MMSeg's ``DemoWorldSegDataset``; an unreadable frame stops with its path)."""
    from mmdense.evaluation.probe_runner import read_seg_split
    imgs, labels, _ = read_seg_split('DemoWorldSegDataset', root, f'splits/{split}.txt')
    return imgs, labels


# ----------------------------------------------------------------------------- pretraining
def _scale_schedule(cfg, iters, base=300):
    for s in cfg.get('param_scheduler') or []:
        for k in ('begin', 'end', 'T_max'):
            if k in s and s[k] is not None:
                s[k] = max(1, int(round(s[k] * iters / base))) if s[k] else 0
    cfg.train_cfg.max_iters = iters


def _fit_pipeline(node, crop):
    """Demo crop sizes -> the benchmark world's (CROP-sized crops of its 96x128 frames)."""
    if isinstance(node, dict):
        t = node.get('type')
        if t == 'PairRandomResizedCrop':
            node['crop_size'] = crop
        elif t in ('PairRandomResizedBoxCrop', 'RandomResizedCropAffine'):
            node['scale'] = min(crop)
        if 'min_shared' in node:
            node['min_shared'] = min(node['min_shared'], min(crop) // 2)
        for v in node.values():
            _fit_pipeline(v, crop)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _fit_pipeline(v, crop)


def _add_vertical_flip(pipeline):
    """Put :data:`DIAGNOSTIC_VFLIP` before the ``RandomAffineView`` of the pipeline's
    ``CorrespondingViews`` (VADeR's ``vflip`` diagnostics), in place."""
    (views, ) = [t for t in pipeline if t['type'] == 'CorrespondingViews']
    geometric = views['geometric']
    (i, ) = [i for i, t in enumerate(geometric) if t['type'] == 'RandomAffineView']
    geometric.insert(i, dict(DIAGNOSTIC_VFLIP))


def shared_optimizer(cfg, iters):
    """:data:`PRETRAIN_OPTIM` with a linear warm-up over the first tenth and poly decay."""
    cfg.optim_wrapper = dict(type='OptimWrapper', optimizer=dict(PRETRAIN_OPTIM))
    warm = max(1, iters // 10)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=warm),
        dict(type='PolyLR', eta_min=1e-6, power=0.9, begin=warm, end=iters, by_epoch=False)]


def pretrain_config(method, variant, seed, root, ucm, work_dir, iters, optim='config',
                    init=None, arch=None, lr_scale=1.0, split='train'):
    """The run's config: the method's demo config on the benchmark world. The supervised row
    uses :data:`PRETRAIN_OPTIM`, the pretraining rows too with ``optim='shared'`` (else their demo
    config's optimizer and schedule). ``init``: the MoCo-v2 checkpoint VADeR's ``moco-init``
    encoder starts from. ``arch``: the supervised row's encoder architecture (None: its
    ``r18-d8``; :func:`supervised_model`). ``lr_scale`` multiplies the optimizer's base lr (every
    parameter group's, which its multipliers keep in ratio; :func:`tune_pretrain`); ``split``
    names the clips a self-supervised run reads (``tune_train``: the tuning split's)."""
    from mmengine.config import Config
    config, overrides, _ = RUNS[(method, variant)]
    cfg = Config.fromfile(osp.join(REPO, config))
    world = load_world_meta(root)
    size = DIAGNOSTIC_CROP if variant.endswith('crop-96') else CROP
    crop = (min(size[0], world['height']), min(size[1], world['width']))
    if method == 'supervised':
        # the same encoder, trained end to end on the train clips' labels
        supervised_model(cfg, arch or RUNS[(method, variant)][2])
        cfg.train_dataloader.dataset.update(data_root=root, ann_file='splits/train.txt')
        # the pretraining crop size, so the budget in pixels is the pretraining runs'
        pipe = cfg.train_dataloader.dataset.pipeline
        pipe.insert(2, dict(type='RandomCrop', crop_size=crop))
        cfg.model.data_preprocessor.size = crop
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
        cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=10**9)
    else:
        cfg.model.update(overrides)
        ds = cfg.train_dataloader.dataset
        ds.data_root = root + '/'
        if method == 'hiergroup':
            ds.ann_file = f'splits/{split}_frames.txt'  # train clips only
            for t in cfg.train_dataloader.dataset.pipeline:
                if t['type'] == 'LoadUCM':
                    t.update(ucm_root=ucm, img_root=osp.join(root, 'frames'))
        else:
            ds.sources = f'splits/{split}_clips.txt'
        _fit_pipeline(cfg.train_dataloader.dataset.pipeline, crop)
        if method == 'vader' and variant.endswith('vflip'):
            _add_vertical_flip(cfg.train_dataloader.dataset.pipeline)
        _scale_schedule(cfg, iters)
    if method == 'supervised' or optim == 'shared':
        shared_optimizer(cfg, iters)
    if lr_scale != 1:
        cfg.optim_wrapper.optimizer.lr *= lr_scale
    if (method, variant) == ('vader', 'moco-init'):  # after the optimizer is chosen
        if init is None:
            raise ValueError("VADeR's moco-init run needs the MoCo-v2 checkpoint (init=...)")
        cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=init,
                                           prefix='backbone.')
        cfg.optim_wrapper.paramwise_cfg = dict(
            custom_keys={'backbone': dict(lr_mult=VADER_ENCODER_LR_MULT)})
    if method == 'vader' and variant.endswith('encoder-lr-1x'):
        if 'paramwise_cfg' not in cfg.optim_wrapper:  # --pretrain-optim shared
            raise ValueError(
                f"vader/{variant} sets the encoder's lr multiplier of VADeR's demo config "
                f'({config}); the shared optimizer (--pretrain-optim shared) has none and '
                'trains every parameter at its lr already: run it with --pretrain-optim config')
        cfg.optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult = DIAGNOSTIC_ENCODER_LR_MULT
    return _run_settings(cfg, seed, work_dir, iters)


def supervised_model(cfg, arch):
    """Make :data:`SUPERVISED`'s model (``cfg``, in place) the ``supervised`` row's model of
    ``arch``: its encoder, from random init, with every parameter and BN trained. ``r18-d8``: the
    dilated ResNet-18 as it is; ``r18-fpn`` / ``hypercolumn``: the encoder of that
    architecture's readout config (:data:`SUPERVISED_ARCH_CONFIG`), unfrozen, under the same 3x3
    head. Its checkpoint holds the encoder as MMSeg names it (:func:`supervised_encoder`)."""
    from mmengine.config import Config
    trained_bn = dict(type='BN', requires_grad=True)
    if arch != 'r18-d8':
        model = Config.fromfile(osp.join(REPO, SUPERVISED_ARCH_CONFIG[arch])).model
        cfg.model.backbone = model.backbone
        if 'neck' in model:
            cfg.model.neck = model.neck
        cfg.model.decode_head.in_channels = model.decode_head.in_channels
    bone = cfg.model.backbone
    if bone.type == 'ReadoutHypercolumn':
        bone.update(frozen=False, pretrained_ckpt=None)
        bone.backbone.norm_cfg = bone.neck.norm_cfg = trained_bn
    else:
        bone.update(frozen_stages=-1, norm_eval=False, pretrained_ckpt=None, norm_cfg=trained_bn)
    if 'neck' in cfg.model:
        cfg.model.neck.update(frozen=False, pretrained_ckpt=None)
    return cfg


def supervised_encoder(ckpt, arch):
    """The checkpoint of the ``supervised`` row's ``arch`` encoder as :func:`build_encoder`
    reads it (``backbone.*`` and ``neck.*``). MMSeg's checkpoint of the ``r18-d8`` and
    ``r18-fpn`` models names them so already (its ``decode_head.*`` is not read); the
    ``hypercolumn`` model's backbone is :class:`ReadoutHypercolumn`, whose ResNet and
    hypercolumn head MMSeg saves as ``backbone.backbone.*`` / ``backbone.neck.*``: they are
    written, renamed, to ``encoder_<name>`` next to ``ckpt`` (atomically), which is returned."""
    if arch != 'hypercolumn':
        return ckpt
    import io

    import torch

    from mmdense.utils.checkpoint import atomic_write_bytes
    state = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    enc = {k[len('backbone.'):]: v for k, v in state.items()
           if k.startswith(('backbone.backbone.', 'backbone.neck.'))}
    if not enc:
        raise KeyError(f'{ckpt} holds no backbone.backbone.* / backbone.neck.* weights: it is '
                       "not a checkpoint of the supervised row's hypercolumn model")
    path = osp.join(osp.dirname(ckpt), 'encoder_' + osp.basename(ckpt))
    buf = io.BytesIO()
    torch.save(dict(state_dict=enc, meta=dict(source=ckpt)), buf)
    atomic_write_bytes(buf.getvalue(), path)
    return path


def _run_settings(cfg, seed, work_dir, iters):
    """What every benchmark training run shares: batch, in-process loading, seed, folder,
    logging, and a checkpoint every ``CHECKPOINT_EVERY`` iterations (a long run resumes from
    it)."""
    cfg.train_dataloader.batch_size = BATCH
    cfg.train_dataloader.num_workers = 0
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = work_dir
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=max(1, min(10, iters // 2)))
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=min(iters, CHECKPOINT_EVERY), by_epoch=False,
                                        max_keep_ckpts=1)
    cfg.log_processor = dict(by_epoch=False)
    return cfg


def mocov2_config(seed, root, work_dir, iters):
    """MoCo-v2 (MMPretrain's, :data:`MOCOV2`) for VADeR's ``moco-init`` encoder: VADeR's
    ResNet-18 (standard strides, as its FPN reads it), two views of the same frame (MoCo on
    ImageNet's images), the benchmark's crop, batch, iterations and seed, the train clips only."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, MOCOV2))
    world = load_world_meta(root)
    crop = min(CROP[0], world['height'], CROP[1], world['width'])
    cfg.model.backbone.update(strides=(1, 2, 2, 2), dilations=(1, 1, 1, 1))
    ds = cfg.train_dataloader.dataset
    ds.update(data_root=root + '/', sources='splits/train_clips.txt', interval_frames=0)
    for t in ds.pipeline[0]['transforms']:
        if t['type'] == 'RandomResizedCrop':
            t['scale'] = crop
    _scale_schedule(cfg, iters)
    return _run_settings(cfg, seed, work_dir, iters)


def mocov2_dir(out_dir, seed):
    """The folder of :func:`mocov2_checkpoint`'s MoCo-v2 run (and of the ``moco-only``
    control's ``moco_only.pth``); analysis tools find them through it."""
    return osp.join(out_dir, 'runs', f'vader-moco-init-s{seed}-mocov2')


def mocov2_checkpoint(seed, root, out_dir, iters):
    """Train (or reuse) the MoCo-v2 encoder of VADeR's ``moco-init`` / ``moco-only``
    diagnostics (:func:`mocov2_config`); returns its last checkpoint."""
    work_dir = mocov2_dir(out_dir, seed)
    ckpt = osp.join(work_dir, f'iter_{iters}.pth')
    cfg = mocov2_config(seed, root, work_dir, iters)
    what = f'MoCo-v2 pretraining for vader/moco-init seed {seed}'
    if reuse_finished(cfg, work_dir, ckpt, what):
        return ckpt
    log(f'pretrain MoCo-v2 for vader/moco-init seed {seed}: {iters} iterations -> {work_dir}')
    train_in_child(cfg, work_dir, what, expect=ckpt)
    return ckpt


def moco_only_checkpoint(moco_ckpt, seed, path):
    """The ``moco-only`` control, written to ``path`` (atomically) and returned: random init
    of VADeR's architecture drawn with ``seed`` (the random row's encoder and decoder) with the
    encoder replaced by the MoCo-v2 checkpoint's. Against it, ``moco-init`` shows what VADeR's
    own training (of the decoder, mostly) adds to the MoCo encoder."""
    import io

    import torch

    from mmdense.utils.checkpoint import atomic_write_bytes, load_pretrained_strict
    enc = build_encoder('r18-fpn', None, seed)
    load_pretrained_strict(enc.backbone, moco_ckpt, 'backbone.')
    state = {f'{part}.{k}': v for part in ('backbone', 'neck')
             for k, v in getattr(enc, part).state_dict().items()}
    buf = io.BytesIO()
    torch.save(dict(state_dict=state, meta=dict(seed=seed, encoder=moco_ckpt)), buf)
    atomic_write_bytes(buf.getvalue(), path)
    return path


def object_edges(inst, img, grad_weight=0.5):
    """The ``object-edges`` diagnostic's edge map (H, W) float32 in [0, 1]:
    ``(1 - grad_weight)`` on the boundaries between instances (and the background) of the
    instance map ``inst`` (H, W), both pixels of each boundary, plus ``grad_weight`` x the
    colour-gradient edges of ``img`` (BGR uint8), so that texture still splits regions, below the
    outlines."""
    import numpy as np

    from mmdense.datasets.ucm import color_gradient_edges
    b = np.zeros(inst.shape, bool)
    dx, dy = inst[:, 1:] != inst[:, :-1], inst[1:] != inst[:-1]
    b[:, 1:] |= dx
    b[:, :-1] |= dx
    b[1:] |= dy
    b[:-1] |= dy
    return (1 - grad_weight) * b.astype(np.float32) + grad_weight * color_gradient_edges(img)


def object_edge_ucm(root, out_dir):
    """UCM trees of the train frames from :func:`object_edges` (the ``object-edges``
    diagnostic), through the same OWT-UCM as the default trees; reused when complete."""
    import cv2
    import numpy as np

    from mmdense.datasets.ucm import compute_ucm_cache
    from mmdense.utils.checkpoint import atomic_write_bytes
    ucm, edges = osp.join(out_dir, 'world_ucm_object_edges'), osp.join(out_dir, 'object_edges')
    recipe = f'{OBJECT_EDGES}\n' + frames_fingerprint(root)
    if tree_cache_complete(ucm, recipe, 'trees of other object edges or other frames',
                           f'remove {ucm} and {edges} to rebuild them'):
        return ucm
    log('UCM trees from object edges (the HierGroup object-edges diagnostic)')
    frames = read_split_lines(root, 'train_frames')
    for rel in frames:
        img, inst = read_world_map(root, 'frames', rel), read_world_map(root, 'inst', rel)
        e = object_edges(inst.astype(np.int64), img, OBJECT_EDGES['grad_weight'])
        ok, png = cv2.imencode('.png', np.round(e * 65535).astype(np.uint16))
        if not ok:
            raise RuntimeError(f'could not encode the object-edge map of {rel}')
        os.makedirs(osp.dirname(osp.join(edges, rel)), exist_ok=True)
        atomic_write_bytes(png.tobytes(), osp.join(edges, rel))
    out = compute_ucm_cache(osp.join(root, 'frames'), ucm, edge_root=edges, workers=2,
                            images=frames)
    if out['failed']:
        raise RuntimeError(f'object-edge UCM failed for {out["failed"][:3]}')
    mark_tree_cache_complete(ucm, recipe)
    return ucm


def tree_cache_complete(folder, recipe, other, fix):
    """Whether the diagnostic tree cache ``folder`` is complete for ``recipe`` (its
    ``.complete`` file holds exactly that text): False when it has none (build it), and a
    RuntimeError naming ``other`` (what the folder holds instead) and ``fix`` when it holds
    another recipe."""
    done = osp.join(folder, '.complete')
    if not osp.exists(done):
        return False
    with open(done) as f:
        if f.read() == recipe:
            return True
    raise RuntimeError(f'{folder} holds {other} ({done}); {fix}')


def mark_tree_cache_complete(folder, recipe):
    """Write ``folder/.complete`` with ``recipe`` (atomically), after every tree is written."""
    from mmdense.utils.checkpoint import atomic_write_bytes
    atomic_write_bytes(recipe.encode(), osp.join(folder, '.complete'))


def class_tree(sem, inst):
    """The ``class-tree`` diagnostic's region tree of one frame from the world's labels:
    ``labels`` (H, W) uint8, one region per instance id of ``inst`` (H, W; 0, the background,
    is one region too), and ``dist`` (M, M) float32, 0 between regions of one shape class of
    ``sem`` (H, W; each region's most frequent class) and 1 between classes: an ultrametric (a
    tree whose classes merge at 0 and join at 1), in the [0, 1] range of the UCM trees."""
    import numpy as np
    ids, labels = np.unique(inst, return_inverse=True)
    labels = labels.reshape(inst.shape)
    if len(ids) > 255:
        raise ValueError(f'class_tree: {len(ids)} instances do not fit uint8 region ids')
    cls = np.array([np.bincount(sem[labels == r].ravel()).argmax() for r in range(len(ids))])
    dist = (cls[:, None] != cls[None]).astype(np.float32)
    return labels.astype(np.uint8), dist


def class_tree_ucm(root, out_dir):
    """The train frames' :func:`class_tree` trees (the ``class-tree`` and ``class-pairs``
    diagnostics) as a UCM cache that ``LoadUCM`` reads; reused when complete."""
    import numpy as np

    from mmdense.datasets.ucm import save_ucm, ucm_path
    ucm = osp.join(out_dir, 'world_ucm_class_tree')
    recipe = 'world class tree v1\n' + frames_fingerprint(root)
    if tree_cache_complete(ucm, recipe, 'class trees of other frames',
                           f'remove {ucm} to rebuild them'):
        return ucm
    log('region trees from the world labels (the HierGroup class-tree diagnostics)')
    for rel in read_split_lines(root, 'train_frames'):
        labels, dist = class_tree(read_world_map(root, 'sem', rel).astype(np.int64),
                                  read_world_map(root, 'inst', rel).astype(np.int64))
        path = ucm_path(ucm, rel)  # <frame without its suffix>.npz, as LoadUCM reads it
        os.makedirs(osp.dirname(path), exist_ok=True)
        save_ucm(path, labels, dist, tree='world-class-tree')
    mark_tree_cache_complete(ucm, recipe)
    return ucm


def read_split_lines(root, split):
    with open(osp.join(root, 'splits', f'{split}.txt')) as f:
        return [line.strip() for line in f if line.strip()]


def read_world_map(root, kind, rel):
    """One of the world's per-frame maps, as stored (no colour conversion): ``kind`` is
    ``'frames'`` (BGR uint8), ``'sem'`` (class ids) or ``'inst'`` (instance ids, 0 = background);
    ``rel`` is the frame's path under it, with or without ``.png``."""
    import cv2
    rel = rel if rel.endswith('.png') else rel + '.png'
    path = osp.join(root, kind, rel)
    img = cv2.imread(path, cv2.IMREAD_COLOR if kind == 'frames' else cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FileNotFoundError(f'{path} is missing or unreadable; regenerate the world '
                                '(delete it and rerun learning.py)')
    return img


def load_world_meta(root):
    with open(osp.join(root, 'meta.json')) as f:
        return json.load(f)['params']


def pretrain_dir(out_dir, method, variant, seed, optim='config', arch=None, lr_scale=1.0,
                 split='train'):
    """``(folder, tag)`` of a :func:`pretrain` run: ``{out_dir}/runs/{method}-{variant}-s{seed}``
    plus its tag, e.g. ``-lr3x`` for a pretraining lr of 3 times the demo config's (none at x1),
    ``-tune_train`` for the tuning split (the arguments are :func:`pretrain`'s). Analysis tools
    find the runs through it (``instance_vs_class.encoders``)."""
    tag = '-shared-optim' if optim == 'shared' and method != 'supervised' else ''
    if arch not in (None, RUNS[(method, variant)][2]):
        tag += f'-{arch}'
    if lr_scale != 1:
        tag += f'-lr{lr_scale:g}x'
    if split != 'train':
        tag += f'-{split}'
    return osp.join(out_dir, 'runs', f'{method}-{variant}-s{seed}{tag}'), tag


def pretrain(method, variant, seed, root, ucm, out_dir, iters, optim='config', arch=None,
             lr_scale=1.0, split='train'):
    """Train (or resume) one run in a child process; returns its last checkpoint. ``arch``:
    the supervised row's encoder (None: its ``r18-d8``, whose folder has no suffix);
    ``lr_scale`` and ``split``: :func:`pretrain_config`'s (folders tagged ``-lr3x``,
    ``-tune_train``: :func:`pretrain_dir`)."""
    work_dir, tag = pretrain_dir(out_dir, method, variant, seed, optim, arch, lr_scale, split)
    ckpt = osp.join(work_dir, f'iter_{iters}.pth')
    init = None
    if (method, variant) == ('vader', 'moco-init'):
        init = mocov2_checkpoint(seed, root, out_dir, iters)
    if (method, variant) == ('hiergroup', 'object-edges'):
        ucm = object_edge_ucm(root, out_dir)
    if method == 'hiergroup' and variant in CLASS_TREE_VARIANTS:
        ucm = class_tree_ucm(root, out_dir)
    cfg = pretrain_config(method, variant, seed, root, ucm, work_dir, iters, optim, init, arch,
                          lr_scale, split)
    what = f'pretraining {method}/{variant}{tag} seed {seed}'
    if reuse_finished(cfg, work_dir, ckpt, what):  # a finished run of this config
        return ckpt
    log(f'pretrain {method}/{variant}{tag} seed {seed}: {iters} iterations -> {work_dir}')
    train_in_child(cfg, work_dir, what, expect=ckpt)
    return ckpt


def loss_curve(work_dir):
    """(first, last) logged training loss of a run (mmengine's vis_data/scalars.json)."""
    losses = [row['loss'] for row in scalar_rows(work_dir) if 'loss' in row]
    return (losses[0], losses[-1]) if losses else (None, None)


# ----------------------------------------------------------------------------- readout
def build_encoder(arch, checkpoint, seed):
    """The frozen encoder of ``arch`` with ``checkpoint`` (None: random init drawn with ``seed``)
    and the feature map its readout reads."""
    import torch
    from mmengine.config import Config

    from mmdense.evaluation import DenseEncoder
    torch.manual_seed(seed)
    cfg = Config.fromfile(osp.join(REPO, ARCH_CONFIG[arch]))
    if arch == 'hypercolumn':
        # what HierGroup's readout reads: the Res3 + Res4 hypercolumn (ReadoutHypercolumn)
        from mmdense.models.backbones.readout_resnet import ReadoutHypercolumn
        from mmdense.utils import quiet_init_logs
        enc = DenseEncoder(cfg, None, use_neck=False)
        enc.backbone = ReadoutHypercolumn(backbone=dict(cfg.model.backbone),
                                          neck=dict(cfg.model.neck), pretrained_ckpt=checkpoint)
        with quiet_init_logs():
            enc.backbone.init_weights()
        enc.eval()
        return enc
    return DenseEncoder(cfg, checkpoint)


def standardise(train, *others):
    """Per-channel standardisation with the train features' statistics: a fixed affine map
    (what a BN in eval mode at the head's input does), so that one recipe fits every encoder.

    A channel (nearly) constant on the train features, with a std under :data:`DEAD_STD` x the
    median channel's (or under 1e-6), is set to zero in every split: the head cannot learn from
    it, and dividing by its std would blow up its rare val activations. (Random-init ResNets
    have such dead ReLU channels: in the random hypercolumn of seed 0, one channel is 0 on every
    train pixel and reached val variance 1e7 when divided by a std clamped at 1e-6, which also
    made its effective rank 1.)"""
    import torch
    mean = train.mean((0, 2, 3), keepdim=True)
    std = train.std((0, 2, 3), keepdim=True)
    live = std > max(DEAD_STD * float(std.flatten().median()), 1e-6)
    std = torch.where(live, std, torch.ones_like(std))
    return [(x - mean) / std * live for x in (train, ) + others]


def whiten(train, *others, ridge=WHITEN_RIDGE):
    """PCA whitening with the train features' covariance: ``x -> (x - mean) @ U diag(1 /
    sqrt(lambda + ridge * lambda_max))``, the same fixed affine map for every split.

    The seg readouts read standardised (:func:`standardise`), then whitened features. The map
    is invertible, and a 1x1 or 3x3 conv absorbs it, so the heads can express what they could
    before; what it changes is the optimisation. One recipe (lr, iterations) then sees about the
    same conditioning whatever the encoder (directions under about ``ridge`` x the top variance
    stay damped). On standardised features alone it did not: the recipe
    chosen on random init blew up on some pretrained encoders (the DeepLab-v1 head's smoothed
    loss started at 20 on HierGroup's hypercolumn against ln 5 = 1.61 at chance, and ended at
    1.3, twice the linear head's), which the issue rules out ("the loss falls without blow-ups,
    and the same recipe then serves every encoder").

    Args:
        train (Tensor): (N, C, h, w) train features; gives the mean and covariance.
        others (Tensor): (M, C, h', w') features mapped with the train statistics.
        ridge (float): added to every eigenvalue, relative to the largest, so that directions
            without variance on the train features are not blown up.

    Returns:
        list[Tensor]: the whitened ``train`` and ``others``, same shapes, float32 (the
        features are float32, as :func:`encoder_features` gives them).
    """
    import torch
    c = train.shape[1]

    def flat(x):
        return x.permute(0, 2, 3, 1).reshape(-1, c)

    rows = flat(train)
    mean = rows.mean(0, dtype=torch.float64)
    cov = torch.zeros(c, c, dtype=torch.float64)
    for chunk in rows.split(1 << 16):
        d = chunk.double() - mean
        cov += d.T @ d
    cov /= max(1, len(rows) - 1)
    lam, vecs = torch.linalg.eigh(cov)
    lam = lam.clamp_min(0)
    top = float(lam[-1])
    if top <= 0:  # no variance at all: nothing to read
        return [torch.zeros_like(x) for x in (train, ) + others]
    proj = (vecs / torch.sqrt(lam + ridge * top)).float()
    mean = mean.float()
    return [((flat(x) - mean) @ proj).reshape(x.shape[0], x.shape[2], x.shape[3], c)
            .permute(0, 3, 1, 2).contiguous() for x in (train, ) + others]


def effective_rank(feats, energy=0.9):
    """:func:`mmdense.evaluation.effective_rank` of (N, C, h, w) features, over pixels."""
    from mmdense.evaluation import effective_rank as rank
    return rank(feats.permute(0, 2, 3, 1).reshape(-1, feats.shape[1]), energy)


def train_readout(kernel, train_x, train_y, val_x, val_y, num_classes, seed, recipe=READOUT):
    """Train MMSeg's :class:`ConvReadoutHead` (1x1 linear or 3x3 DeepLab-v1) on frozen features
    with cross-entropy on logits upsampled bilinearly to the label size (MMSeg's decode-head
    loss), SGD + poly lr; score val with MMSeg's ``IoUMetric``. Returns (metrics, losses)."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from mmdense.evaluation import segmentation_scores
    from mmdense.registry import MODELS
    torch.manual_seed(seed)
    head = MODELS.build(dict(type='ConvReadoutHead', in_channels=train_x.shape[1],
                             num_classes=num_classes, kernel_size=kernel, in_index=0,
                             align_corners=False))
    opt = torch.optim.SGD(head.parameters(), lr=recipe['lr'], momentum=recipe['momentum'],
                          weight_decay=recipe['weight_decay'])
    y = torch.from_numpy(train_y.astype(np.int64))
    g = torch.Generator().manual_seed(seed)
    losses = []
    head.train()
    for it in range(recipe['iters']):
        for group in opt.param_groups:
            group['lr'] = recipe['lr'] * (1 - it / recipe['iters']) ** 0.9
        idx = torch.randint(len(train_x), (recipe['batch'], ), generator=g)
        logits = F.interpolate(head((train_x[idx], )), size=y.shape[1:], mode='bilinear',
                               align_corners=False)
        loss = F.cross_entropy(logits, y[idx], ignore_index=255)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    head.eval()
    with torch.no_grad():
        preds = torch.cat([F.interpolate(head((val_x[i:i + 16], )), size=val_y.shape[1:],
                                         mode='bilinear', align_corners=False).argmax(1)
                           for i in range(0, len(val_x), 16)])
    scores = segmentation_scores(preds, val_y, num_classes)
    return dict(mIoU=scores['mIoU'], aAcc=scores['aAcc']), losses


def _loss_summary(losses):
    k = max(1, len(losses) // 20)
    smooth = [sum(losses[i:i + k]) / len(losses[i:i + k]) for i in range(0, len(losses), k)]
    return dict(loss_first=smooth[0], loss_max_after_start=max(smooth[1:] or smooth),
                loss_last=smooth[-1])


def encoder_features(arch, checkpoint, seed, root, splits=('readout_train', 'readout_val')):
    """Standardised frozen features and labels of the readout train / val frames (the heads
    whiten them, :func:`seg_readouts`)."""
    enc = build_encoder(arch, checkpoint, seed)
    tr_imgs, tr_y = read_split(root, splits[0])
    va_imgs, va_y = read_split(root, splits[1])
    tr_x, va_x = standardise(enc.features(tr_imgs, batch_size=16),
                             enc.features(va_imgs, batch_size=16))
    return tr_x, tr_y, va_x, va_y


def seg_readouts(arch, checkpoint, seed, root, splits=('readout_train', 'readout_val'),
                 recipe=READOUT, feats=None):
    """Both seg readouts and the effective rank of one frozen encoder: a list of
    ``(readout, metric, value)``. The rank is read from the standardised val features, the
    heads are trained on the whitened ones (:func:`whiten`)."""
    from mmdense.datasets.demo_world import CLASSES
    tr_x, tr_y, va_x, va_y = feats or encoder_features(arch, checkpoint, seed, root, splits)
    out = [(f'pca@{arch}', 'effective_rank', effective_rank(va_x))]
    tr_x, va_x = whiten(tr_x, va_x)
    for head, kernel in HEADS.items():
        metrics, losses = train_readout(kernel, tr_x, tr_y, va_x, va_y, len(CLASSES), seed,
                                        recipe)
        out.append((f'{head}@{arch}', 'mIoU', metrics['mIoU']))
        out += [(f'{head}@{arch}', k, v) for k, v in _loss_summary(losses).items()]
    return out


# ----------------------------------------------------------------------------- table
def summarise(records):
    """{(method, variant, readout, metric): [values by seed]}."""
    table = {}
    for r in records:
        table.setdefault((r['method'], r['variant'], r['readout'], r['metric']), []).append(
            r['value'])
    return table


def _ms(vals):
    import numpy as np
    return float(np.mean(vals)), float(np.std(vals))


def markdown(records):
    """The README table: every (method, variant) against random init of its architecture."""
    table = summarise(records)
    readouts = sorted({(k[2], k[3]) for k in table if k[3] in SCORE_METRICS})
    lines = ['| method | variant | readout | score (mean ± std over seeds) | seeds | '
             'vs random (mean) | min seed > random max | effective rank |',
             '|---|---|---|---|---|---|---|---|']
    order = {m: i for i, m in enumerate(METHODS)}
    keys = sorted({(k[0], k[1]) for k in table},
                  key=lambda mv: (order.get(mv[0], 99), mv[1] != 'main', mv[1]))
    for method, variant in keys:
        for readout, metric in readouts:
            vals = table.get((method, variant, readout, metric))
            if not vals:
                continue
            m, s = _ms(vals)
            arch = readout.split('@')[-1]
            # random init of the same readout (the detector-trained diagnostic has its own)
            rnd = table.get(('random', 'main', readout, metric)) or \
                table.get(('random', variant, readout, metric))
            if rnd and method != 'random':
                delta = f'{m - _ms(rnd)[0]:+.1f}'
                beat = 'yes' if min(vals) > max(rnd) else 'no'
            else:
                delta = beat = ''
            rank = table.get((method, variant, f'pca@{arch}', 'effective_rank'))
            rank = f'{_ms(rank)[0]:.0f}' if rank else ''
            shown = f'{variant} (diagnostic)' if variant_kind(method, variant) == 'diagnostic' \
                else variant
            lines.append(f'| {method} | {shown} | {readout} ({metric}) | {m:.1f} ± {s:.1f} | '
                         f'{len(vals)} | {delta} | {beat} | {rank} |')
    return '\n'.join(lines) + '\n'


def ablation_signs(records):
    """Lines saying whether each ablation keeps the paper's sign (main > variant, in the mean)."""
    table = summarise(records)
    out = []
    for (method, variant), _ in RUNS.items():
        if variant_kind(method, variant) != 'ablation':
            continue
        for (m, v, readout, metric), vals in table.items():
            if m != method or v != variant or metric not in SCORE_METRICS:
                continue
            main = table.get((method, 'main', readout, metric))
            if main:
                d = _ms(main)[0] - _ms(vals)[0]
                out.append(f'- {method} main vs {variant}, {readout}: {d:+.1f} '
                           f'({"keeps" if d > 0 else "does not keep"} the paper\'s sign)')
    return '\n'.join(out) + '\n'


def plot(records, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    table = summarise(records)
    keys = sorted(k for k in table if k[3] in SCORE_METRICS)
    if not keys:
        return
    labels = [f'{k[0]}/{k[1]}\n{k[2]}' for k in keys]
    means = [_ms(table[k])[0] for k in keys]
    stds = [_ms(table[k])[1] for k in keys]
    colours = ['tab:green' if variant_kind(k[0], k[1]) == 'diagnostic' else
               'grey' if k[0] == 'random' else 'black' if k[0] == 'supervised' else
               'tab:blue' if k[1] == 'main' else 'tab:orange' for k in keys]
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(keys)), 4.5))
    ax.bar(range(len(keys)), means, yerr=stds, color=colours, capsize=2)
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(labels, rotation=90, fontsize=6)
    ax.set_ylabel('val mIoU / accuracy / bbox mAP (%)')
    ax.set_title('Frozen readouts on the demo world (mean ± std over seeds; grey: random init, '
                 'black: supervised, blue: main, orange: ablation, green: diagnostic, '
                 '*-trained: encoder trained too)', fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def with_baseline(records, baseline):
    """``records`` plus the ``random`` rows of ``baseline`` (records of another results file) for
    the readouts ``records`` has, when ``records`` has no random rows of its own: random init does
    not depend on ``--iters``, so a side results file (for example ``--iters 3000``) is compared
    with the table's random rows."""
    if not baseline or any(r['method'] == 'random' for r in records):
        return records
    readouts = {r['readout'] for r in records}
    return records + [r for r in baseline
                      if r['method'] == 'random' and r['readout'] in readouts]


def read_records(path, flag, fix):
    """The records of the results file ``path`` that ``flag`` names; one clear error, naming the
    file and ``fix``, when it is missing, is not JSON or is not a list of result records."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{flag} {path}: no such file; {fix}')
    try:
        records = load_results(path)
    except ValueError as e:
        raise ValueError(f'{flag} {path}: not valid JSON ({e}); {fix}') from e
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError(f'{flag} {path}: not a list of result records; {fix}')
    return records


def load_baseline(path):
    """The records of a ``--baseline`` results file; a clear error when it is missing, is not a
    results list, or has no ``random`` rows."""
    fix = ("name the results file the table's random rows were written to "
           '(tools/benchmark/results/learning.json)')
    records = read_records(path, '--baseline', fix)
    if not any(r.get('method') == 'random' for r in records):
        raise ValueError(f"--baseline {path}: has no 'random' rows; {fix}")
    return records


def merge_results(sources, results):
    """Write the records of the results files ``sources``, in their order, into the new results
    file ``results``, and their runs' code versions into its :func:`versions_file`; return the
    records. Used for a table whose runs were made by several commands, e.g. seeds run in two
    sessions (``--merge``). Refused, by name, before anything is written:
    - a run (:func:`run_key`) found in two sources: which one to keep is the user's call
      (``compare_results.py`` tells whether they agree); within one source it is as
      :func:`run_pending` wrote it;
    - a ``results`` or its versions file that exists (never overwritten), or a ``results``
      that would write its report over a source's (the same name but for the extension);
    - a source that is not a table's results file (records with ``method``, ``variant``,
      ``seed``, ``readout``, ``metric`` and ``value``) or whose versions file is not a
      ``{run: version}`` object.
    Both files are written atomically, the versions first (as :func:`run_pending`)."""
    base = osp.splitext(results)[0]
    for path in (results, versions_file(results)):
        if osp.exists(path):
            raise FileExistsError(f'--results {results}: {path} exists; --merge writes a new '
                                  'results file (name another --results, remove that one, or '
                                  're-render it with --report-only)')
    fix = 'name the results files that learning.py wrote (--results of its table runs)'
    records, versions, source_of = [], {}, {}
    for path in sources:
        if osp.splitext(path)[0] == base:
            raise ValueError(f'--results {results}: its report and versions file would be '
                             f"--merge {path}'s; name another --results")
        recs = read_records(path, '--merge', fix)
        for i, r in enumerate(recs):
            missing = [k for k in ('method', 'variant', 'seed', 'readout', 'metric', 'value')
                       if k not in r]
            if missing:
                raise ValueError(f'--merge {path}: record {i} has no {", ".join(missing)}; '
                                 f'{fix}')
            if not isinstance(r['readout'], str):
                raise ValueError(f'--merge {path}: record {i} has a readout that is not a '
                                 f'name; {fix}')
        try:
            known = load_versions(path)
        except ValueError as e:
            raise ValueError(f'--merge {path}: its {versions_file(path)} is not valid JSON '
                             f'({e}); restore it or remove it (its runs then count as not '
                             'recorded)') from e
        if not isinstance(known, dict) or not all(isinstance(v, str) for v in known.values()):
            raise ValueError(f'--merge {path}: its {versions_file(path)} is not a '
                             '{run: version} object; restore it or remove it')
        for run in sorted({record_run(r) for r in recs}):
            if run in source_of:
                raise ValueError(f'--merge {path}: run {run} is also in {source_of[run]}; '
                                 'merge only one of them (compare_results.py compares the two)')
            source_of[run] = path
            if run in known:
                versions[run] = known[run]
        records += recs
    save_versions(results, versions)
    save_results(results, records)
    return records


def table_span(readme):
    """The text of ``readme`` and where its table goes: after its ``<!-- learning-table -->``
    marker, up to its ``<!-- /learning-table -->``; a clear error when it lacks them."""
    start, end = '<!-- learning-table -->', '<!-- /learning-table -->'
    if not osp.isfile(readme):
        raise FileNotFoundError(f'--readme {readme}: no such file; name the README with the '
                                f'{start} ... {end} markers')
    with open(readme) as f:
        doc = f.read()
    if start not in doc or end not in doc:
        raise ValueError(f'{readme} has no {start} ... {end} markers for the table')
    return doc, doc.index(start) + len(start), doc.index(end)


def write_reports(records, results, readme=None):
    """``learning.md`` and ``learning.png`` next to ``results``; with ``readme``, the table also
    replaces the text between the README's ``<!-- learning-table -->`` markers."""
    base = osp.splitext(results)[0]
    text = markdown(records) + '\nAblation signs (main minus ablation, mean over seeds):\n\n' + \
        ablation_signs(records) + '\n' + versions_line(results, records)
    with open(base + '.md', 'w') as f:
        f.write(text)
    plot(records, base + '.png')
    if readme:
        doc, start, end = table_span(readme)
        doc = doc[:start] + '\n' + text + doc[end:]
        with open(readme, 'w') as f:
            f.write(doc)


# ----------------------------------------------------------------------------- main
def run_one(method, variant, seed, part, root, ucm, out_dir, iters, recipe, tr_world,
            optim='config', det_iters=None, lr_scale=1.0):
    """Pretrain (unless random) and read out one encoder: its result records. ``lr_scale``:
    the pretraining lr's factor (``--pretrain-lr-scale``, :func:`pretrain_config`)."""
    recs = []

    def add(readout, metric, value):
        recs.append(dict(method=method, variant=variant, seed=seed, readout=readout,
                         metric=metric, value=value))

    def add_losses(name, ckpt):
        """The first and last logged training loss of the run that wrote ``ckpt``."""
        first, last = loss_curve(osp.dirname(ckpt))
        if first is not None:
            add(name, 'loss_first', first)
            add(name, 'loss_last', last)

    if part == 'det':
        import learning_det as ld
        trained = (method, variant) in DET_DIAGNOSTICS  # from the main setting's encoder
        pre_variant, suffix = ('main', '-trained') if trained else (variant, '')
        if method == 'random':
            ckpt, work_dir = None, osp.join(out_dir, 'runs', f'random-s{seed}-det{suffix}')
        else:
            ckpt = tr_world.pretrain(variant, seed, iters, lr_scale) \
                if method == 'transitive' else \
                pretrain(method, pre_variant, seed, root, ucm, out_dir, iters, optim,
                         lr_scale=lr_scale)
            work_dir = osp.join(osp.dirname(ckpt), f'det{suffix}')
        metrics = ld.det_readout(root, ckpt, seed, work_dir, det_iters or ld.DET_ITERS, log=log,
                                 train_encoder=trained)
        readout = ld.DET_TRAINED_READOUT if trained else ld.DET_READOUT
        for key, value in ld.det_scores(metrics):  # in % like the others
            add(readout, key, value)
        return recs

    if method == 'random' and part == 'seg':
        for arch in ARCH_CONFIG:
            for readout, metric, value in seg_readouts(arch, None, seed, root, recipe=recipe):
                add(readout, metric, value)
        return recs
    if method == 'random':
        for readout, metric, value in tr_world.readout(None, seed):
            add(readout, metric, value)
        return recs
    if method == 'supervised' and part == 'object':
        ckpt = tr_world.pretrain_supervised(seed, iters)
        add_losses(f'pretraining@{TRANSITIVE_ARCH}', ckpt)
        for readout, metric, value in tr_world.readout(ckpt, seed, 'supervised_config.py'):
            add(readout, metric, value)
        return recs
    if method == 'transitive':
        ckpt = tr_world.pretrain(variant, seed, iters, lr_scale)
        add_losses(f'pretraining@{TRANSITIVE_ARCH}', ckpt)  # the ranking loss
        for readout, metric, value in tr_world.readout(ckpt, seed):
            add(readout, metric, value)
        return recs
    if (method, variant) == ('vader', 'moco-only'):  # no VADeR training: the control
        moco = mocov2_checkpoint(seed, root, out_dir, iters)
        ckpt = moco_only_checkpoint(moco, seed, osp.join(osp.dirname(moco), 'moco_only.pth'))
        for readout, metric, value in seg_readouts('r18-fpn', ckpt, seed, root, recipe=recipe):
            add(readout, metric, value)
        return recs
    own = RUNS[(method, variant)][2]
    # the supervised row frames every architecture's rows, as random init does
    for arch in ARCH_CONFIG if method == 'supervised' else (own, ):
        ckpt = pretrain(method, variant, seed, root, ucm, out_dir, iters, optim,
                        None if arch == own else arch, lr_scale)
        add_losses('pretraining' if arch == own else f'pretraining@{arch}', ckpt)
        if method == 'supervised':
            ckpt = supervised_encoder(ckpt, arch)
        for readout, metric, value in seg_readouts(arch, ckpt, seed, root, recipe=recipe):
            add(readout, metric, value)
    return recs


def transitive_iters(iters, default):
    """Transitive's ranker iterations for ``iters`` pretraining iterations of the other rows:
    its own ``default`` (``learning_transitive.DEFAULT_ITERS``, 200) at the table's
    :data:`PRETRAIN_ITERS`, scaled with ``--iters`` (3000: 2000), so that a longer budget is
    longer for Transitive too. At least one."""
    return max(1, int(round(default * iters / PRETRAIN_ITERS)))


class TransitiveWorld:
    """Transitive's pretraining and object readout on the benchmark world
    (``learning_transitive.py``)."""

    def __init__(self, root, out_dir):
        import learning_transitive as lt
        missing = [n for n in ('pretrain_transitive', 'object_readout') if not hasattr(lt, n)]
        if missing:
            raise ImportError(f'learning_transitive lacks {missing}')
        self.lt, self.root, self.out_dir = lt, root, out_dir

    def pretrain(self, variant, seed, iters, lr_scale=1.0, split='train'):
        """Mine the graph of the ``split`` clips and train the ranker for
        :func:`transitive_iters` of the table's ``iters`` pretraining iterations, at
        ``lr_scale`` times the demo config's lr (folders as :func:`pretrain_dir`'s)."""
        work_dir, _ = pretrain_dir(self.out_dir, 'transitive', variant, seed,
                                   lr_scale=lr_scale, split=split)
        return self.lt.pretrain_transitive(self.root, work_dir, seed, variant,
                                           transitive_iters(iters, self.lt.DEFAULT_ITERS),
                                           log=log, lr_scale=lr_scale, split=split)

    def pretrain_supervised(self, seed, iters):
        """The object readout's ``supervised`` reference: the same tower trained on the train
        clips' object crops and shape labels, with the ranker's budget
        (:func:`transitive_iters`)."""
        work_dir = osp.join(self.out_dir, 'runs', f'supervised-objects-s{seed}')
        return self.lt.pretrain_supervised(self.root, work_dir, seed,
                                           transitive_iters(iters, self.lt.DEFAULT_ITERS),
                                           log=log)

    def readout(self, checkpoint, seed, config_name='transitive_config.py', tune=False):
        """The object readout's records; ``tune``: within the train clips (``tune_train`` ->
        ``tune_val``, the lr sweep's), else train clips -> val clips."""
        config = None if checkpoint is None else osp.join(osp.dirname(checkpoint), config_name)
        res = self.lt.object_readout(self.root, checkpoint, config, log=log, seed=seed,
                                     splits=self.lt.TUNE_READOUT_SPLITS if tune else
                                     self.lt.READOUT_SPLITS)
        arch = TRANSITIVE_ARCH
        return [(f'object-linear@{arch}', 'accuracy', res['object-linear']),
                (f'object-nn@{arch}', 'accuracy', res['object-nn']),
                (f'pca@{arch}', 'effective_rank', res['effective_rank'])]


def tune(out_dir, root, results):
    """Choose the readout recipe on the random-init encoder, train clips only (tune_train ->
    tune_val). Writes ``learning_tune.json`` next to the results."""
    rows = []
    feats = encoder_features('r18-d8', None, 0, root, ('readout_tune_train', 'readout_tune_val'))
    for lr in (0.01, 0.03, 0.1, 0.3):
        for iters in (300, 600, 1200):
            recipe = dict(READOUT, lr=lr, iters=iters)
            for readout, metric, value in seg_readouts('r18-d8', None, 0, root, recipe=recipe,
                                                       feats=feats):
                rows.append(dict(lr=lr, iters=iters, readout=readout, metric=metric,
                                 value=value))
                if metric == 'mIoU':
                    log(f'tune lr {lr} iters {iters} {readout}: {value:.2f}')
    save_results(osp.splitext(results)[0] + '_tune.json', rows)
    chosen = choose_recipe(rows)
    if chosen:
        (lr, iters), score = chosen
        log(f'chosen readout recipe: lr {lr}, {iters} iterations (mean mIoU {score:.2f})'
            f'; READOUT in this file is lr {READOUT["lr"]}, {READOUT["iters"]} iterations')
    return rows


def choose_recipe(rows):
    """The rule :func:`tune` applies to its rows: the best mean mIoU of the two heads among the
    recipes whose (smoothed) loss starts below 2 (no early blow-up; ln 5 = 1.61 at chance) and
    never rises above its start. Returns ``((lr, iters), mean mIoU)``, or None."""
    by = {}
    for r in rows:
        if r['readout'].split('@')[0] in HEADS:  # not the effective rank's row
            by.setdefault((r['lr'], r['iters']), {}).setdefault(r['readout'], {})[
                r['metric']] = r['value']
    ok = {k: sum(h['mIoU'] for h in v.values()) / len(v) for k, v in by.items()
          if all(h['loss_first'] < 2 and h['loss_max_after_start'] <= h['loss_first']
                 for h in v.values())}
    return (max(ok, key=ok.get), max(ok.values())) if ok else None


#: the self-supervised rows whose pretraining lr ``--tune-pretrain`` sweeps (their main setting;
#: Transitive's is its ranker's, scored by the object readout)
TUNE_PRETRAIN_METHODS = ('flowe', 'cacl', 'vader', 'hiergroup', 'transitive')
TUNE_PRETRAIN_SCALES = (0.1, 0.3, 1, 3, 10)
TUNE_SPLITS = ('readout_tune_train', 'readout_tune_val')
#: the table's pretraining lr of each self-supervised seg method, as a multiple of its demo
#: config's: the scale ``--tune-pretrain`` chose on the train clips' tuning split (the committed
#: ``results/learning_tune-pretrain.json``; CACL's choice is x1). Every variant of the method
#: (ablations, diagnostics) pretrains at it; ``--pretrain-lr-scale`` / ``--demo-lr`` change it.
#: Transitive's ranker was swept after the table was run (``results/learning_tune-pretrain_
#: transitive.json``: x0.3, 0.36 points of object accuracy over x1, inside the readout's noise);
#: it stays at x1 here until the whole table is run again at one commit, since a results file
#: skips the runs it holds (tools/benchmark/README.md)
TABLE_LR_SCALES = {'flowe': 3.0, 'vader': 0.3, 'hiergroup': 0.3}
#: Transitive's object readout heads (``learning_transitive.object_readout``)
OBJECT_HEADS = ('object-linear', 'object-nn')


def tune_scores(method):
    """``(architecture, readouts, metric, training readout)`` by which ``--tune-pretrain``
    scores ``method``'s encoder and random init of its architecture: the two seg heads' mIoU,
    or Transitive's two object readouts' accuracy; the training's loss (or failure) is recorded
    under the training readout, of the same part (:func:`part_of`) as the scores, as in the
    table."""
    if method == 'transitive':
        return (TRANSITIVE_ARCH, [f'{h}@{TRANSITIVE_ARCH}' for h in OBJECT_HEADS],
                'accuracy', f'pretraining@{TRANSITIVE_ARCH}')
    arch = RUNS[(method, 'main')][2]
    return arch, [f'{h}@{arch}' for h in HEADS], 'mIoU', 'pretraining'


def tune_pretrain(out_dir, root, ucm, results, methods, scales, iters, recipe=READOUT):
    """Sweep each method's pretraining lr on the tuning split of the *train* clips (issue 17:
    "tune on a train/val split of the demo world's train clips"): the main setting, seed 0,
    pretrained on the ``tune_train`` clips only with its demo config's lr times each of
    ``scales``, then read out (the table's two seg heads and recipe; Transitive's ranker, its
    graph mined from the ``tune_train`` clips, by the object readout) on ``tune_train`` and
    scored on ``tune_val``; random init of each architecture is read the same way. The val
    clips are never read. Records (``variant`` ``lr{scale}x``, ``random``'s ``main``) go to
    ``<results>_tune-pretrain.json``, resumably; a run whose training fails (the child exits
    non-zero, e.g. a loss that turns NaN at a large lr: ``TrainingFailed``) is recorded as
    ``failed`` with its log, and left out of the choice (:func:`choose_lr_scale`); a refused
    work folder (another config's run there) stops the sweep unrecorded. Returns the records."""
    out = osp.splitext(results)[0] + '_tune-pretrain.json'
    archs = sorted({tune_scores(m)[0] for m in methods})
    todo = [('random', 'main', 0, arch) for arch in archs]
    # each item's part is its scores' (part_of), so that has_run finds it done
    todo += [(m, f'lr{s:g}x', 0, part_of(tune_scores(m)[1][0])) for m in methods
             for s in scales]
    tr_world = TransitiveWorld(root, out_dir) if 'transitive' in methods else None

    def is_done(recs, item):
        method, variant, seed, part = item
        if method == 'random':  # one item per architecture
            return any(r['method'] == 'random' and r['readout'] == f'pca@{part}' for r in recs)
        return has_run(recs, *item)

    def run(item):
        method, variant, seed, part = item
        recs = []

        def add(readout, metric, value):
            recs.append(dict(method=method, variant=variant, seed=seed, readout=readout,
                             metric=metric, value=value))

        if method == 'random':  # part: the architecture
            rows = tr_world.readout(None, seed, tune=True) if part == TRANSITIVE_ARCH else \
                seg_readouts(part, None, seed, root, TUNE_SPLITS, recipe)
            for row in rows:
                add(*row)
            return recs
        scale = float(variant[2:-1])
        arch, _, _, trained = tune_scores(method)
        try:
            if method == 'transitive':
                ckpt = tr_world.pretrain('main', seed, iters, scale, 'tune_train')
            else:
                ckpt = pretrain(method, 'main', seed, root, ucm, out_dir, iters,
                                lr_scale=scale, split='tune_train')
        except TrainingFailed as e:  # recorded and shown, never read out; a refused folder
            # (another config's run) is the user's to resolve and stops the sweep, unrecorded
            log(f'tune-pretrain {method} x{scale:g}: {e}')
            add(trained, 'failed', 1)  # in this item's part: done, not retried
            return recs
        first, last = loss_curve(osp.dirname(ckpt))
        add(trained, 'loss_first', first)
        add(trained, 'loss_last', last)
        rows = tr_world.readout(ckpt, seed, tune=True) if method == 'transitive' else \
            seg_readouts(arch, ckpt, seed, root, TUNE_SPLITS, recipe)
        for row in rows:
            add(*row)
        return recs

    def describe(item, recs):
        scores = ', '.join(f"{r['readout']} {r['value']:.1f}" for r in recs
                           if r['metric'] in SCORE_METRICS)
        return f'{item[0]}/{item[1]}: {scores or "failed"}'

    records = run_pending(todo, out, is_done, run, describe)
    for method in methods:
        chosen = choose_lr_scale(records, method)
        if chosen:
            log(f'tune-pretrain {method}: lr x{chosen[0]:g} (mean tune-val '
                f'{tune_scores(method)[2]} {chosen[1]:.2f}; x1 {chosen[2]:.2f}; random init '
                f'{chosen[3]:.2f})')
    return records


def choose_lr_scale(records, method):
    """The rule :func:`tune_pretrain` applies: the lr scale whose encoder's two readouts
    (:func:`tune_scores`: the seg heads' mIoU, Transitive's object accuracies) have the best
    mean on tune-val, among the runs that trained (finite first and last loss). Returns
    ``(scale, its mean, x1's mean or nan, random init's mean or nan)``, or None."""
    import math
    _, heads, metric, _ = tune_scores(method)

    def mean(m, v):
        vals = [r['value'] for r in records if (r['method'], r['variant'], r['metric']) ==
                (m, v, metric) and r['readout'] in heads]
        return sum(vals) / len(vals) if len(vals) == len(heads) else math.nan

    by = {}
    for r in records:
        if r['method'] == method and r['variant'].startswith('lr'):
            by.setdefault(r['variant'], {})[r['metric']] = r['value']
    ok = {v: mean(method, v) for v, m in by.items()
          if not m.get('failed') and all(math.isfinite(m.get(k, math.nan))
                                         for k in ('loss_first', 'loss_last'))}
    ok = {v: x for v, x in ok.items() if math.isfinite(x)}
    if not ok:
        return None
    best = max(ok, key=ok.get)
    return float(best[2:-1]), ok[best], ok.get('lr1x', math.nan), mean('random', 'main')


def parse_lr_scales(items, base=None):
    """``['flowe=3', ...]`` -> ``{'flowe': 3.0}`` on top of ``base`` (a dict, e.g.
    :data:`TABLE_LR_SCALES`; a method at x1 is left out); only :data:`TUNE_PRETRAIN_METHODS`,
    each once, with a positive finite scale (else ValueError naming the item)."""
    import math
    out, seen = dict(base or {}), set()
    for item in items:
        method, _, value = item.partition('=')
        try:
            scale = float(value)
        except ValueError:
            scale = math.nan
        if method not in TUNE_PRETRAIN_METHODS or method in seen or not (
                math.isfinite(scale) and scale > 0):
            raise ValueError(f'{item!r}: expected METHOD=SCALE, METHOD one of '
                             f'{", ".join(TUNE_PRETRAIN_METHODS)} (once each), SCALE > 0')
        seen.add(method)
        out[method] = scale
    return {m: x for m, x in out.items() if x != 1}


def format_lr_scales(scales):
    """``{'flowe': 3.0}`` -> ``'flowe=3'`` (``'every demo lr'`` when empty)."""
    return ' '.join(f'{m}={x:g}' for m, x in sorted(scales.items())) or 'every demo lr'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out-dir', default=osp.join(REPO, 'work_dirs/learning'))
    parser.add_argument('--results', default=RESULTS)
    parser.add_argument('--methods', nargs='+', default=list(METHODS), choices=METHODS)
    parser.add_argument('--variants', nargs='+', default=['main', 'ablation'],
                        choices=('main', 'ablation', 'diagnostic'),
                        help="'main', 'ablation' (the papers' key ablations) and/or "
                        "'diagnostic' (DIAGNOSTICS: variants that test a cause; not by default)")
    parser.add_argument('--only', nargs='+', default=None, metavar='VARIANT',
                        help='run only these variants (names, e.g. class-pairs) of the chosen '
                        'methods and --variants kinds')
    parser.add_argument('--seeds', nargs='+', type=int, default=list(SEEDS))
    parser.add_argument('--iters', type=int, default=PRETRAIN_ITERS,
                        help='pretraining (and supervised) iterations')
    parser.add_argument('--parts', nargs='+', default=list(PARTS), choices=PARTS,
                        help="which readouts: 'seg' (MMSeg), 'object' (Transitive's object "
                        "crops), 'det' (MMDet, for DET_METHODS)")
    parser.add_argument('--det-iters', type=int, default=None,
                        help='detection readout iterations (default learning_det.DET_ITERS)')
    parser.add_argument('--pretrain-optim', choices=('shared', 'config'), default='config',
                        help="'config' (the table): the pretraining rows keep their demo "
                        "config's optimizer; 'shared': they use the supervised row's "
                        'PRETRAIN_OPTIM, at its lr (no TABLE_LR_SCALES; write to another '
                        '--results)')
    parser.add_argument('--readme', nargs='?', const=osp.join(REPO, 'README.md'),
                        help='also write the table into README.md (between its markers)')
    parser.add_argument('--report-only', action='store_true',
                        help='only rewrite the table / plot from the results file')
    parser.add_argument('--merge', nargs='+', default=None, metavar='RESULTS',
                        help='write the records of these results files, in order, and their '
                        "runs' code versions into a new --results, then its table and plot "
                        '(as --report-only, with --baseline and --readme); a run found in two '
                        'of them is refused; the flags that choose runs (--methods, --seeds, '
                        '...) do not apply')
    parser.add_argument('--baseline', default=None,
                        help="a results file whose 'random' rows the table compares with, used "
                        'only when --results has none of its own (random init does not depend '
                        'on --iters), e.g. tools/benchmark/results/learning.json for a '
                        '--iters 3000 file')
    parser.add_argument('--tune', action='store_true',
                        help='choose the readout recipe on the random encoder and exit')
    parser.add_argument('--pretrain-lr-scale', nargs='+', default=[], metavar='METHOD=SCALE',
                        help="a self-supervised method's pretraining lr (every variant's), as "
                        "SCALE times its demo config's, instead of the table's "
                        f'({format_lr_scales(TABLE_LR_SCALES)}, TABLE_LR_SCALES, chosen by '
                        '--tune-pretrain); e.g. vader=1 (write to another --results)')
    parser.add_argument('--demo-lr', action='store_true',
                        help="every method at its demo config's lr (x1), as every run before "
                        'the table adopted TABLE_LR_SCALES did (write to another --results); '
                        '--pretrain-lr-scale applies on top')
    parser.add_argument('--tune-pretrain', nargs='*', type=float, default=None,
                        metavar='SCALE',
                        help='sweep the --methods\' pretraining lr (their demo config\'s, times '
                        f'each SCALE; default {" ".join(map(str, TUNE_PRETRAIN_SCALES))}) on the '
                        'train clips\' tuning split, seed 0, and exit (tune_pretrain)')
    parser.add_argument('--smoke', action='store_true',
                        help='a tiny world, FlowE and random only, a few iterations (CI)')
    args = parser.parse_args(argv)
    try:
        # TABLE_LR_SCALES were tuned for each config's own optimizer, not the shared one
        lr_scales = parse_lr_scales(args.pretrain_lr_scale, {} if args.demo_lr or
                                    args.pretrain_optim == 'shared' else TABLE_LR_SCALES)
    except ValueError as e:
        parser.error(f'--pretrain-lr-scale: {e}')
    if (lr_scales != TABLE_LR_SCALES or args.pretrain_optim != 'config') and \
            osp.abspath(args.results) == RESULTS:
        # a results file skips the runs it holds: other lrs would mix into the table unseen
        parser.error(f'--pretrain-lr-scale / --demo-lr / --pretrain-optim: the committed table '
                     f'pretrains at {format_lr_scales(TABLE_LR_SCALES)} (TABLE_LR_SCALES) with '
                     f"each config's optimizer, not at {format_lr_scales(lr_scales)} with the "
                     f'{args.pretrain_optim} one; name another --results')
    bad_only = check_only(args.only, args.methods, args.variants)
    if bad_only:  # a misspelt name ran nothing before, with no error
        parser.error(f'--only: {bad_only}')
    # absolute: the MMDet readout's configs join paths under the world's data_root, so a relative
    # --out-dir was read twice over (work_dirs/x/world/work_dirs/x/world/annotations/...)
    args.out_dir, args.results = osp.abspath(args.out_dir), osp.abspath(args.results)
    import mmdense  # noqa: F401
    from mmengine.registry import init_default_scope
    init_default_scope('mmdense')
    recipe, world = READOUT, WORLD
    if args.smoke:
        world = SMOKE_WORLD
        recipe = dict(READOUT, iters=5)
        if args.methods == list(METHODS):
            args.methods = ['flowe', 'random']
        args.iters = min(args.iters, 2)
        args.det_iters = min(args.det_iters or 2, 2)
    if args.merge and (args.tune or args.tune_pretrain is not None):
        parser.error('--merge only merges results files; run --tune / --tune-pretrain alone')
    try:
        baseline = load_baseline(osp.abspath(args.baseline)) if args.baseline else None
        if args.merge:
            if args.readme:  # before the merge: a failed report must not leave it half done
                table_span(args.readme)
            records = merge_results([osp.abspath(p) for p in args.merge], args.results)
    except (OSError, ValueError) as e:
        parser.error(str(e))
    if args.report_only or args.merge:
        records = records if args.merge else load_results(args.results)
        write_reports(with_baseline(records, baseline), args.results, args.readme)
        return
    os.makedirs(args.out_dir, exist_ok=True)
    root, ucm = make_world(args.out_dir, world, with_ucm='hiergroup' in args.methods)
    if args.tune:
        tune(args.out_dir, root, args.results)
        return
    if args.tune_pretrain is not None:
        methods = [m for m in args.methods if m in TUNE_PRETRAIN_METHODS]
        if not methods:
            parser.error(f'--tune-pretrain sweeps {", ".join(TUNE_PRETRAIN_METHODS)}; '
                         f'--methods names none of them')
        tune_pretrain(args.out_dir, root, ucm, args.results, methods,
                      args.tune_pretrain or TUNE_PRETRAIN_SCALES, args.iters, recipe)
        return
    tr_world = None
    if {'transitive', 'random', 'supervised'} & set(args.methods):  # object readouts
        try:
            tr_world = TransitiveWorld(root, args.out_dir)
        except ImportError:
            tr_world = None
    # seed by seed (so a partial table has every row): the reference rows first, then every
    # method's main setting, then the ablations
    todo = []
    for seed in args.seeds:
        for kind in ('main', 'ablation', 'diagnostic'):
            if kind not in args.variants:
                continue
            for method in sorted(args.methods, key=lambda m: (
                    m not in ('random', 'supervised'), METHODS.index(m))):
                for variant in variants_of(method):
                    if variant_kind(method, variant) != kind or (
                            args.only and variant not in args.only):
                        continue
                    parts = ('det', ) if (method, variant) in DET_DIAGNOSTICS else \
                        ('seg', 'object') if method in ('random', 'supervised') else \
                        ('object', ) if method == 'transitive' else ('seg', )
                    # MMDet readouts for the main settings (the issue's rows), not per variant
                    parts += ('det', ) if method in DET_METHODS and variant == 'main' else ()
                    todo += [(method, variant, seed, p) for p in parts if p in args.parts]

    def run(item):
        method, variant, seed, part = item
        if tr_world is None and (part == 'object' or method == 'transitive'):
            log(f'skipped {method}/{variant} seed {seed} ({part} readout): '
                'learning_transitive.py is not importable')
            return None
        return run_one(method, variant, seed, part, root, ucm, args.out_dir, args.iters,
                       recipe, tr_world, args.pretrain_optim, args.det_iters,
                       lr_scales.get(method, 1.0))

    def describe(item, recs):
        method, variant, seed, _ = item
        scores = ', '.join(f"{r['readout']} {r['value']:.1f}" for r in recs
                           if r['metric'] in SCORE_METRICS)
        return f'{method}/{variant} seed {seed}: {scores}'

    log(f"pretraining lr: the demo configs' times {format_lr_scales(lr_scales)}"
        f"{' (TABLE_LR_SCALES)' if lr_scales == TABLE_LR_SCALES else ''}")
    records = run_pending(todo, args.results, lambda recs, t: has_run(recs, *t), run, describe)
    shown = with_baseline(records, baseline)  # the results file keeps only this run's rows
    write_reports(shown, args.results, args.readme)
    print(markdown(shown))


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli
    run_cli(main)
