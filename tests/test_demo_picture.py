"""tools/misc/demo_picture.py (the demo's last picture): each tile shows what it claims."""
import os.path as osp
import sys

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from helpers import REPO

sys.path.insert(0, osp.join(REPO, 'tools', 'misc'))
import demo_picture  # noqa: E402

SEG_READOUT = osp.join(
    REPO, 'configs/readout/seg/deeplabv1_r18-d8-frozen_1xb8-400iters_demo-world.py')


def _readout_ckpt(path, constant_class, seed):
    """A readout checkpoint whose head predicts ``constant_class`` everywhere (zero weights, a
    one-hot bias) on a random encoder drawn with ``seed``."""
    cfg = Config.fromfile(SEG_READOUT)
    init_default_scope('mmseg')
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    conv = model.decode_head.conv_seg
    torch.nn.init.zeros_(conv.weight)
    with torch.no_grad():
        conv.bias.copy_(torch.nn.functional.one_hot(torch.tensor(constant_class),
                                                    conv.bias.numel()).float() * 10)
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return model


def test_picture_tiles_show_input_truth_prediction_and_features(tmp_path, demo_world):
    a = tmp_path / 'a.pth'
    b = tmp_path / 'b.pth'
    _readout_ckpt(a, constant_class=2, seed=0)
    _readout_ckpt(b, constant_class=0, seed=1)
    out = tmp_path / 'pic' / 'demo.png'
    res = demo_picture.main([SEG_READOUT, f'pretrained={a}', f'random init={b}', '--out',
                             str(out), '--data-root', demo_world, '--frames', '2'])
    assert res['columns'] == ['input', 'ground truth', 'pretrained: prediction',
                              'pretrained: features (PCA)', 'random init: prediction',
                              'random init: features (PCA)']
    pic = cv2.imread(str(out))
    (th, tw), top = res['tile'], res['header']
    assert pic.shape == (top + 2 * th, 6 * tw, 3)
    from mmdense.datasets.demo_world import PALETTE

    def tile(r, c):
        return pic[top + r * th:top + (r + 1) * th, c * tw:(c + 1) * tw]

    for r, img_path in enumerate(res['rows']):
        frame = cv2.imread(img_path)
        sem = cv2.imread(img_path.replace('frames', 'sem'), cv2.IMREAD_UNCHANGED)
        zoom = th // frame.shape[0]
        assert zoom == 2 and tw == 2 * frame.shape[1]
        # input: the frame itself (bilinear zoom), ground truth: the palette of the class map
        small = cv2.resize(tile(r, 0), frame.shape[1::-1], interpolation=cv2.INTER_AREA)
        assert np.abs(small.astype(int) - frame).mean() < 6
        gt = np.asarray(PALETTE, np.uint8)[:, ::-1][sem]
        assert (tile(r, 1)[::2, ::2] == gt).all()
        # predictions: the constant class of each checkpoint
        assert (tile(r, 2) == np.asarray(PALETTE[2][::-1], np.uint8)).all()
        assert (tile(r, 4) == np.asarray(PALETTE[0][::-1], np.uint8)).all()
        # features: PCA pictures differ between the two encoders and are not flat
        assert tile(r, 3).std() > 10 and tile(r, 5).std() > 10
        assert np.abs(tile(r, 3).astype(int) - tile(r, 5)).mean() > 5


def test_picture_reads_work_dirs_and_names_missing_ones(tmp_path, capsys):
    import pytest
    with pytest.raises(SystemExit, match='no last_checkpoint'):
        demo_picture.main([SEG_READOUT, f'x={tmp_path}', '--out', str(tmp_path / 'p.png')])
    wd = tmp_path / 'wd'
    wd.mkdir()
    (wd / 'last_checkpoint').write_text(str(tmp_path / 'gone.pth'))
    with pytest.raises(SystemExit, match='gone.pth does not exist'):
        demo_picture.main([SEG_READOUT, f'x={wd}', '--out', str(tmp_path / 'p.png')])
