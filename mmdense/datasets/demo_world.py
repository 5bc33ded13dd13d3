"""The demo world: a small, deterministic, labelled video dataset generated in seconds on a CPU.

Short clips of textured objects of a handful of classes (disc, square, triangle, star) move over
real photographs (scikit-image / scikit-learn sample images) while the camera pans and zooms.
The class is the *shape* only (version 2): every object's texture is a random crop of a photo
drawn from one pool (:data:`TEXTURE_POOL`) shared by all classes and by the background, with a
random tint, so colour statistics alone do not tell the classes apart. Each clip has 3-6 objects
with independent motions, which occlude each other and leave and enter the view.
Every layer (the background and each object) moves by a known affine per frame, so the optical
flow between any two frames is exact: pixel ``p`` of frame ``t1`` on layer ``L`` lands on
``M_L(t2) @ M_L(t1)^-1 @ p`` in frame ``t2``. It is stored for consecutive frames and (version 3)
for every pair ``t1 < t2`` of a clip, so that a config can pair frames further apart, as FlowE's
paper does (0.4-0.5 s): consecutive demo frames move pixels by only a few pixels, under one
cell of a stride-8 feature map.

Layout written under ``out_dir`` (standard, so stock MMSeg / MMDet datasets read the labels)::

    frames/clip_000/00000.png ...     RGB frames (PNG, lossless)
    sem/clip_000/00000.png ...        semantic masks, uint8 class index (0 = background)
    inst/clip_000/00000.png ...       instance ids, uint8 (0 = background, k = object k of the clip)
    flow_fw/clip_000/00000.flo ...    exact flow frame t -> t+1 (stored at t), Middlebury .flo
    flow_bw/clip_000/00000.flo ...    exact flow frame t+1 -> t (stored at t)
    valid_fw/clip_000/00000.png ...   255 where the pixel of frame t is visible in frame t+1
    valid_bw/clip_000/00000.png ...   255 where the pixel of frame t+1 is visible in frame t
    {flow,valid}_{fw,bw}/clip_000/00000_00003.{flo,png} ...   the same for every pair t1 < t2
        (here 0 and 3; fw = t1 -> t2, bw = t2 -> t1), version 3
    splits/{train,val}.txt            'clip_000/00000' per line (MMSeg ``ann_file``)
    splits/{train,val}_clips.txt      'frames/clip_000' per line (FramePairDataset ``sources``)
    annotations/instances_{train,val}.json   COCO instances (boxes + RLE masks)
    meta.json                         classes, palette, clips, generator parameters

Generation is parallel over clips, deterministic for a given seed whatever the number of workers,
and atomic: the folder is built under a temporary name and renamed when complete. A folder that
already holds the same parameters is reused.
"""
import functools
import json
import os
import os.path as osp
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor

import cv2
import numpy as np

DEMO_WORLD_VERSION = 3  # 3: exact flow of every frame pair

CLASSES = ('background', 'disc', 'square', 'triangle', 'star')
PALETTE = [[0, 0, 0], [220, 20, 60], [0, 142, 0], [0, 60, 230], [250, 170, 30]]
THING_CLASSES = CLASSES[1:]

#: the real photographs (package, loader name) every texture is cut from: objects of every class
#: and the background draw from this one pool (version 1 gave each class its own photo and tint)
TEXTURE_POOL = (('skimage', 'astronaut'), ('skimage', 'coffee'), ('skimage', 'chelsea'),
                ('skimage', 'rocket'), ('sklearn', 'china.jpg'), ('sklearn', 'flower.jpg'),
                ('skimage', 'hubble_deep_field'), ('skimage', 'immunohistochemistry'),
                ('skimage', 'gravel'), ('skimage', 'brick'), ('skimage', 'grass'),
                ('skimage', 'camera'), ('skimage', 'moon'), ('skimage', 'coins'))
#: range of the random per-channel tint applied to every texture (objects and background)
TINT_RANGE = (0.55, 1.15)

TEX = 64  # canonical object texture size (pixels)


@functools.lru_cache(maxsize=None)
def _load_photo(source, name):
    """An RGB uint8 photo shipped inside an installed package (no download). Cached per
    process; read-only (callers convert with ``astype``, which copies)."""
    if source == 'skimage':
        import skimage.data
        img = getattr(skimage.data, name)()
    else:
        from sklearn.datasets import load_sample_image
        img = load_sample_image(name)
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = np.ascontiguousarray(img[..., :3]).astype(np.uint8)
    img.setflags(write=False)
    return img


def _shape_mask(cls):
    """Canonical binary mask (TEX x TEX) of an object class, centred."""
    mask = np.zeros((TEX, TEX), np.uint8)
    c, r = TEX / 2 - 0.5, TEX / 2 - 2
    if cls == 1:
        cv2.circle(mask, (TEX // 2, TEX // 2), int(r), 1, -1)
    elif cls == 2:
        mask[6:-6, 6:-6] = 1
    elif cls == 3:
        pts = np.array([[c, c - r], [c + r * 0.95, c + r * 0.8], [c - r * 0.95, c + r * 0.8]])
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    else:
        ang = np.pi / 2 + np.arange(10) * np.pi / 5
        rad = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
        pts = np.stack([c + rad * np.cos(ang), c - rad * np.sin(ang)], 1)
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    return mask


def _random_tint(rng):
    """A per-channel gain, the same distribution for every class and the background."""
    return rng.uniform(*TINT_RANGE, 3).astype(np.float32)


def _texture(rng):
    """Canonical RGB texture (TEX x TEX) for one object, whatever its class: a random crop of a
    random photo of :data:`TEXTURE_POOL`, randomly tinted, lightly blurred (so bilinear
    resampling stays accurate)."""
    photo = _load_photo(*TEXTURE_POOL[rng.integers(len(TEXTURE_POOL))]).astype(np.float32)
    scale = rng.uniform(0.25, 0.8)
    side = int(min(photo.shape[:2]) * scale)
    y0 = rng.integers(0, photo.shape[0] - side + 1)
    x0 = rng.integers(0, photo.shape[1] - side + 1)
    crop = cv2.resize(photo[y0:y0 + side, x0:x0 + side], (TEX, TEX), interpolation=cv2.INTER_AREA)
    crop = crop * _random_tint(rng)
    crop = cv2.GaussianBlur(crop, (0, 0), 0.8)
    return np.clip(crop, 0, 255).astype(np.float32)


def _object_affine(center, angle, scale):
    """2x3 affine mapping canonical texture coords to frame coords."""
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    o = (TEX - 1) / 2
    return np.array([[c, -s, center[0] - c * o + s * o], [s, c, center[1] - s * o - c * o]])


def _h(m):
    return np.vstack([m, [0., 0., 1.]])


def _layer_flow(m_from, m_to, h, w):
    """Flow (H, W, 2) of a layer whose pose goes from affine ``m_from`` to ``m_to``."""
    t = _h(m_to) @ np.linalg.inv(_h(m_from))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    nx = t[0, 0] * xs + t[0, 1] * ys + t[0, 2]
    ny = t[1, 0] * xs + t[1, 1] * ys + t[1, 2]
    return np.stack([nx - xs, ny - ys], -1)


def _clip_plan(rng, num_frames, h, w):
    """Random but deterministic motion plan for one clip."""
    bg_source = TEXTURE_POOL[rng.integers(len(TEXTURE_POOL))]
    bg_tint = _random_tint(rng)
    num_obj = int(rng.integers(3, 7))
    objects = []
    for _ in range(num_obj):
        cls = int(rng.integers(1, len(CLASSES)))
        size = rng.uniform(0.3, 0.5) * min(h, w)
        objects.append(dict(
            cls=cls,
            center=np.array([rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h]),
            velocity=rng.uniform(-1, 1, 2) * min(h, w) * 0.04,
            angle=rng.uniform(0, 2 * np.pi),
            omega=rng.uniform(-0.08, 0.08),
            scale=size / TEX,
            growth=rng.uniform(-0.02, 0.02),
            seed=int(rng.integers(2**31))))
    camera = dict(pan=rng.uniform(-1, 1, 2) * min(h, w) * 0.03,
                  zoom=rng.uniform(-0.012, 0.012), seed=int(rng.integers(2**31)))
    return dict(background=bg_source, background_tint=bg_tint, objects=objects, camera=camera,
                num_frames=num_frames)


def _render_clip(args):
    """Render one clip into ``root`` (worker entry point); returns its per-frame annotations."""
    root, clip, clip_seed, num_frames, h, w = args
    rng = np.random.default_rng(clip_seed)
    plan = _clip_plan(rng, num_frames, h, w)
    # background canvas: the photo resized so that the moving camera window stays inside
    photo = _load_photo(*plan['background']).astype(np.float32) * plan['background_tint']
    max_zoom = 1 + abs(plan['camera']['zoom']) * num_frames
    pan = np.abs(plan['camera']['pan']) * num_frames
    need_w, need_h = w * max_zoom + 2 * pan[0] + 8, h * max_zoom + 2 * pan[1] + 8
    f = max(need_w / photo.shape[1], need_h / photo.shape[0])
    canvas = cv2.resize(photo, (int(np.ceil(photo.shape[1] * f)), int(np.ceil(photo.shape[0] * f))),
                        interpolation=cv2.INTER_AREA)
    canvas = cv2.GaussianBlur(canvas, (0, 0), 0.6)
    cx0, cy0 = canvas.shape[1] / 2, canvas.shape[0] / 2
    textures = []
    for obj in plan['objects']:
        orng = np.random.default_rng(obj['seed'])
        textures.append((_texture(orng), _shape_mask(obj['cls'])))

    def poses(t):
        zoom = 1 + plan['camera']['zoom'] * t
        centre = np.array([cx0, cy0]) + plan['camera']['pan'] * t
        # canvas -> frame: scale by zoom about the camera centre
        bg = np.array([[zoom, 0, w / 2 - zoom * centre[0]], [0, zoom, h / 2 - zoom * centre[1]]])
        objs = []
        for o in plan['objects']:
            objs.append(_object_affine(o['center'] + o['velocity'] * t, o['angle'] + o['omega'] * t,
                                       o['scale'] * (1 + o['growth'] * t)))
        return [bg] + objs

    all_poses = [poses(t) for t in range(num_frames)]
    layer_maps, frames = [], []
    for t in range(num_frames):
        ps = all_poses[t]
        frame = cv2.warpAffine(canvas, ps[0], (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
        layer = np.zeros((h, w), np.uint8)
        for k, (tex, mask) in enumerate(textures):
            m = cv2.warpAffine(mask, ps[k + 1], (w, h), flags=cv2.INTER_NEAREST) > 0
            img = cv2.warpAffine(tex, ps[k + 1], (w, h), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REFLECT)
            frame[m] = img[m]
            layer[m] = k + 1
        frames.append(np.clip(np.round(frame), 0, 255).astype(np.uint8))
        layer_maps.append(layer)

    classes = np.array([0] + [o['cls'] for o in plan['objects']], np.uint8)
    for sub in ('frames', 'sem', 'inst', 'flow_fw', 'flow_bw', 'valid_fw', 'valid_bw'):
        os.makedirs(osp.join(root, sub, clip), exist_ok=True)
    records = []
    for t in range(num_frames):
        name = f'{t:05d}'
        cv2.imwrite(osp.join(root, 'frames', clip, name + '.png'), frames[t][..., ::-1])
        cv2.imwrite(osp.join(root, 'sem', clip, name + '.png'), classes[layer_maps[t]])
        cv2.imwrite(osp.join(root, 'inst', clip, name + '.png'), layer_maps[t])
        instances = []
        for k in range(1, len(classes)):
            m = layer_maps[t] == k
            if m.sum() < 16:
                continue
            ys, xs = np.nonzero(m)
            instances.append(dict(instance=k, category=int(classes[k]), mask=m,
                                  bbox=[float(xs.min()), float(ys.min()),
                                        float(xs.max() - xs.min() + 1),
                                        float(ys.max() - ys.min() + 1)]))
        records.append(dict(name=f'{clip}/{name}', instances=instances))
        for t2 in range(t + 1, num_frames):
            # consecutive frames under the frame's name (versions 1-2), every pair as t1_t2
            stems = [name, f'{name}_{t2:05d}'] if t2 == t + 1 else [f'{name}_{t2:05d}']
            for direction, (a, b) in (('fw', (t, t2)), ('bw', (t2, t))):
                flow, valid = exact_flow(all_poses[a], all_poses[b], layer_maps[a], layer_maps[b])
                for stem in stems:
                    cv2.writeOpticalFlow(osp.join(root, f'flow_{direction}', clip, stem + '.flo'),
                                         flow.astype(np.float32))
                    cv2.imwrite(osp.join(root, f'valid_{direction}', clip, stem + '.png'),
                                valid.astype(np.uint8) * 255)
    return clip, records


def exact_flow(poses_a, poses_b, layer_a, layer_b):
    """Exact flow from frame a to frame b and its visibility mask.

    Args:
        poses_a, poses_b (list[ndarray]): per-layer 2x3 affines (layer 0 = background).
        layer_a, layer_b (ndarray): (H, W) visible layer index in each frame.

    Returns:
        tuple: flow (H, W, 2) float64 and valid (H, W) bool, True where the pixel's point lands
        inside frame b on the same layer (i.e. it is neither out of view nor occluded).
    """
    h, w = layer_a.shape
    flow = np.zeros((h, w, 2))
    for k in range(len(poses_a)):
        sel = layer_a == k
        if sel.any():
            flow[sel] = _layer_flow(poses_a[k], poses_b[k], h, w)[sel]
    ys, xs = np.mgrid[0:h, 0:w]
    fx, fy = xs + flow[..., 0], ys + flow[..., 1]
    # inside the pixel-centre hull of frame b, where bilinear sampling is defined
    inside = (fx >= 0) & (fx <= w - 1) & (fy >= 0) & (fy <= h - 1)
    tx, ty = np.round(fx).astype(int), np.round(fy).astype(int)
    same = np.zeros_like(inside)
    same[inside] = layer_b[ty[inside], tx[inside]] == layer_a[inside]
    return flow, inside & same


def _coco(records, image_ids):
    from pycocotools import mask as mask_utils
    images, annotations = [], []
    ann_id = 1
    for rec in records:
        img_id = image_ids[rec['name']]
        h, w = rec['shape']
        images.append(dict(id=img_id, file_name=rec['name'] + '.png', height=h, width=w))
        for inst in rec['instances']:
            rle = mask_utils.encode(np.asfortranarray(inst['mask'].astype(np.uint8)))
            rle['counts'] = rle['counts'].decode('ascii')
            annotations.append(dict(id=ann_id, image_id=img_id, category_id=inst['category'],
                                    bbox=inst['bbox'], area=float(inst['mask'].sum()),
                                    segmentation=rle, iscrowd=0, instance_id=inst['instance']))
            ann_id += 1
    categories = [dict(id=i, name=n) for i, n in enumerate(CLASSES) if i > 0]
    return dict(images=images, annotations=annotations, categories=categories)


def generate_demo_world(out_dir, num_clips=12, frames_per_clip=8, height=128, width=192,
                        val_clips=3, seed=0, num_workers=0, force=False, verbose=True):
    """Generate the demo world in ``out_dir`` (see the module docstring for the layout).

    Args:
        out_dir (str): destination folder.
        num_clips (int): number of clips; the last ``val_clips`` form the val split.
        frames_per_clip (int): frames per clip (>= 2).
        height, width (int): frame size.
        seed (int): master seed; the content depends only on the parameters, not on workers.
        num_workers (int): processes rendering clips in parallel (0 = in this process).
        force (bool): regenerate even if ``out_dir`` holds a demo world with other parameters.

    Returns:
        dict: the ``meta.json`` content.
    """
    if frames_per_clip < 2 or num_clips <= val_clips or val_clips < 0:
        raise ValueError('need frames_per_clip >= 2 and 0 <= val_clips < num_clips, got '
                         f'frames_per_clip={frames_per_clip}, num_clips={num_clips}, '
                         f'val_clips={val_clips}')
    params = dict(version=DEMO_WORLD_VERSION, num_clips=num_clips, frames_per_clip=frames_per_clip,
                  height=height, width=width, val_clips=val_clips, seed=seed)
    meta_file = osp.join(out_dir, 'meta.json')
    if osp.exists(meta_file):
        with open(meta_file) as f:
            meta = json.load(f)
        old = dict(meta.get('params') or {})
        if old == params:
            if verbose:
                print(f'demo world already in {out_dir}, reusing it')
            return meta
        stale = old.pop('version', None) != DEMO_WORLD_VERSION and old == \
            {k: v for k, v in params.items() if k != 'version'}
        if stale:  # the same request, drawn by an older generator: regenerate it
            print(f'{out_dir} holds version {meta["params"].get("version")} of the demo world; '
                  f'replacing it with version {DEMO_WORLD_VERSION} (caches derived from its '
                  'frames, e.g. UCM trees, are recomputed by their tools)')
        elif not force:
            raise FileExistsError(f'{out_dir} holds a demo world generated with other parameters '
                                  f'({meta.get("params")}); pass force=True (--force) to replace '
                                  'it or choose another folder')
    elif osp.exists(out_dir) and os.listdir(out_dir) and not force:
        raise FileExistsError(f'{out_dir} exists, is not empty and is not a demo world; choose '
                              'another folder or pass force=True (--force)')
    parent = osp.dirname(osp.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.demo_world-', dir=parent)
    try:
        seeds = np.random.SeedSequence(seed).spawn(num_clips)
        jobs = [(tmp, f'clip_{i:03d}', int(s.generate_state(1)[0]), frames_per_clip, height, width)
                for i, s in enumerate(seeds)]
        results = {}
        if num_workers > 0:
            with ProcessPoolExecutor(num_workers) as ex:
                for clip, recs in ex.map(_render_clip, jobs):
                    results[clip] = recs
                    if verbose:
                        print(f'  rendered {clip} ({len(results)}/{num_clips})', flush=True)
        else:
            for job in jobs:
                clip, recs = _render_clip(job)
                results[clip] = recs
                if verbose:
                    print(f'  rendered {clip} ({len(results)}/{num_clips})', flush=True)
        clips = sorted(results)
        splits = dict(train=clips[:num_clips - val_clips], val=clips[num_clips - val_clips:])
        os.makedirs(osp.join(tmp, 'splits'))
        os.makedirs(osp.join(tmp, 'annotations'))
        img_id = {}
        for clip in clips:
            for rec in results[clip]:
                rec['shape'] = (height, width)
                img_id[rec['name']] = len(img_id) + 1
        for split, split_clips in splits.items():
            recs = [r for c in split_clips for r in results[c]]
            with open(osp.join(tmp, 'splits', f'{split}.txt'), 'w') as f:
                f.writelines(r['name'] + '\n' for r in recs)
            with open(osp.join(tmp, 'splits', f'{split}_clips.txt'), 'w') as f:
                f.writelines(f'frames/{c}\n' for c in split_clips)
            with open(osp.join(tmp, 'annotations', f'instances_{split}.json'), 'w') as f:
                json.dump(_coco(recs, img_id), f)
        meta = dict(params=params, classes=list(CLASSES), palette=PALETTE, splits=splits,
                    clips={c: frames_per_clip for c in clips})
        with open(osp.join(tmp, 'meta.json'), 'w') as f:
            json.dump(meta, f, indent=1)
        if osp.exists(out_dir):
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if verbose:
        print(f'demo world: {num_clips} clips x {frames_per_clip} frames of {height}x{width} '
              f'written to {out_dir}')
    return meta
