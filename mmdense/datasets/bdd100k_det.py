"""BDD100K detection labels -> COCO json with the paper's 8 Cityscapes instance classes.

FlowE sec. 4.1: BDD100K detection uses "the same class definition as Cityscapes": 8 instance
classes (person, rider, car, truck, bus, train, motorcycle, bicycle). Both official label formats
are read:

* ``labels/det_20/det_{train,val}.json`` (2020): categories ``pedestrian``, ``rider``, ``car``,
  ``truck``, ``bus``, ``train``, ``motorcycle``, ``bicycle``, plus ``other person``,
  ``other vehicle``, ``trailer`` (ambiguous; kept as crowd / ignore regions) and
  ``traffic light`` / ``traffic sign`` (not instance classes; dropped);
* ``labels/bdd100k_labels_images_{train,val}.json`` (2018): ``person``, ``motor``, ``bike`` ...,
  plus ``drivable area`` / ``lane`` polygons (dropped).

Boxes ``box2d = {x1, y1, x2, y2}`` (pixels, inclusive corners as the BDD toolkit writes them)
become COCO ``[x, y, w, h]`` with ``w = x2 - x1``. Labels with ``attributes.crowd`` and the
ambiguous categories get ``iscrowd=1``, which MMDet's ``CocoDataset`` turns into ignored boxes and
COCO evaluation never counts as misses or false positives.
"""
import json
import math
import os.path as osp

CLASSES = ('person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle')
_TO_CLASS = {
    'pedestrian': 'person', 'person': 'person', 'rider': 'rider', 'car': 'car',
    'truck': 'truck', 'bus': 'bus', 'train': 'train', 'motorcycle': 'motorcycle',
    'motor': 'motorcycle', 'bicycle': 'bicycle', 'bike': 'bicycle'}
# ambiguous BDD100K categories: not counted as objects, not counted as background either
_IGNORE_AS = {'other person': 'person', 'other vehicle': 'car', 'trailer': 'truck'}
_DROPPED = {'traffic light', 'traffic sign', 'drivable area', 'lane', 'area/drivable',
            'area/alternative', 'area/unknown'}
BDD100K_IMAGE_SIZE = (1280, 720)  # (width, height) of every BDD100K image


class BDD100KLabelError(ValueError):
    """A BDD100K label file that cannot be converted; the message names the file and entry."""


def _image_size(img_dir, name):
    if img_dir is None:
        return BDD100K_IMAGE_SIZE
    path = osp.join(img_dir, name)
    if not osp.isfile(path):
        raise BDD100KLabelError(
            f'image {path} listed in the labels does not exist: point --img-dir at '
            'bdd100k/images/100k/<split> (or leave it out to assume 1280x720)')
    from PIL import Image
    try:
        with Image.open(path) as im:  # reads the header only
            return im.size
    except OSError as e:
        raise BDD100KLabelError(f'cannot read image {path}: {e}') from e


def bdd100k_to_coco(label_file, img_dir=None):
    """Convert one official BDD100K detection label file to a COCO dict.

    Args:
        label_file (str): ``det_20/det_<split>.json`` or ``bdd100k_labels_images_<split>.json``.
        img_dir (str, optional): the split's image folder; when given, every image must exist
            and its size is read from it (otherwise all images are 1280x720, as in BDD100K).

    Returns:
        tuple[dict, dict]: the COCO dict (``images``, ``annotations``, ``categories``; category
        ids 1..8 in :data:`CLASSES` order) and counts (``images``, ``boxes`` per class,
        ``ignored``, ``dropped``, ``degenerate``).
    """
    try:
        with open(label_file) as f:
            frames = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise BDD100KLabelError(f'cannot read BDD100K labels {label_file}: {e}') from e
    if not isinstance(frames, list):
        raise BDD100KLabelError(
            f'{label_file}: expected a list of frames (the official BDD100K detection format), '
            f'got {type(frames).__name__}')
    cat_id = {c: i + 1 for i, c in enumerate(CLASSES)}
    images, anns = [], []
    stats = dict(images=0, boxes={c: 0 for c in CLASSES}, ignored=0, dropped=0, degenerate=0)
    for idx, frame in enumerate(frames):
        if not isinstance(frame, dict) or 'name' not in frame:
            raise BDD100KLabelError(f'{label_file}: entry {idx} has no image "name"')
        w, h = _image_size(img_dir, frame['name'])
        img_id = idx + 1
        images.append(dict(id=img_id, file_name=frame['name'], width=w, height=h))
        stats['images'] += 1
        for label in frame.get('labels') or []:
            cat = label.get('category')
            box = label.get('box2d')
            if cat in _DROPPED or (box is None and cat not in _TO_CLASS and cat not in _IGNORE_AS):
                stats['dropped'] += 1
                continue
            if cat not in _TO_CLASS and cat not in _IGNORE_AS:
                raise BDD100KLabelError(
                    f'{label_file}: image {frame["name"]} has unknown category {cat!r}; known: '
                    f'{sorted(set(_TO_CLASS) | set(_IGNORE_AS) | _DROPPED)}')
            if box is None:
                raise BDD100KLabelError(
                    f'{label_file}: image {frame["name"]}, label {label.get("id")}: {cat!r} '
                    'has no box2d')
            try:
                x1, y1, x2, y2 = (float(box[k]) for k in ('x1', 'y1', 'x2', 'y2'))
            except (KeyError, TypeError, ValueError) as e:
                raise BDD100KLabelError(
                    f'{label_file}: image {frame["name"]}, label {label.get("id")}: bad box2d '
                    f'{box!r} ({e})') from e
            if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
                raise BDD100KLabelError(
                    f'{label_file}: image {frame["name"]}, label {label.get("id")}: non-finite '
                    f'box2d {box!r}')
            x1, x2 = max(0., min(x1, w)), max(0., min(x2, w))
            y1, y2 = max(0., min(y1, h)), max(0., min(y2, h))
            bw, bh = x2 - x1, y2 - y1
            if bw <= 0 or bh <= 0:
                stats['degenerate'] += 1
                continue
            crowd = cat in _IGNORE_AS or bool((label.get('attributes') or {}).get('crowd'))
            name = _IGNORE_AS.get(cat) or _TO_CLASS[cat]
            anns.append(dict(id=len(anns) + 1, image_id=img_id, category_id=cat_id[name],
                             bbox=[x1, y1, bw, bh], area=bw * bh, iscrowd=int(crowd),
                             segmentation=[]))
            if crowd:
                stats['ignored'] += 1
            else:
                stats['boxes'][name] += 1
    coco = dict(images=images, annotations=anns,
                categories=[dict(id=i, name=c) for c, i in cat_id.items()])
    return coco, stats
