"""Precompute UCM region trees for a folder of images (hierarchical grouping's data layer).

    python tools/ucm/compute_ucm.py IMG_ROOT OUT_DIR [--edges EDGE_ROOT [--edge-suffix .png]]
        [--max-regions 40] [--workers 8]

Writes ``OUT_DIR/<image path relative to IMG_ROOT, suffix .npz>`` (finest-level region map +
the tree's ultrametric distances, see ``mmdense/datasets/ucm.py``), atomically; a rerun skips
the images already done (resume). Edges: multi-scale colour gradients (no weights needed),
OpenCV's structured forests (``--sed-model model.yml.gz``, the paper's SE edges; the model file
does not ship offline), or your own edge / UCM maps (BSDS-style PNG / .mat, e.g. HED outputs) in
EDGE_ROOT mirroring IMG_ROOT. ``LoadUCM(ucm_root=OUT_DIR, img_root=IMG_ROOT)`` reads them.
Trees: OWT-UCM's greedy merging by the mean edge strength along each boundary
(``ucm_from_edges``); each file carries the hierarchy's ``tree`` tag and ``source_sha1``, the sha1
of the source image's bytes, so a rerun recomputes the files of an older hierarchy (e.g.
weakest-point trees), of a picture that changed under the same path (e.g. a regenerated demo
world) and files without a digest (older code) instead of counting them as done.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('img_root')
    parser.add_argument('out_dir')
    parser.add_argument('--edges', default=None, help='folder of precomputed edge / UCM maps')
    parser.add_argument('--edge-suffix', default='.png')
    parser.add_argument('--sed-model', default=None,
                        help="OpenCV structured-forest model file (model.yml.gz) for SE edges")
    parser.add_argument('--max-regions', type=int, default=40)
    parser.add_argument('--workers', type=int, default=0)
    args = parser.parse_args(argv)
    from mmdense.datasets.ucm import compute_ucm_cache
    from mmdense.utils.launch import report_failed
    t0 = time.perf_counter()
    res = compute_ucm_cache(args.img_root, args.out_dir, args.edges, args.edge_suffix,
                            args.max_regions, args.workers, sed_model=args.sed_model)
    sec = time.perf_counter() - t0
    rate = res['computed'] / sec if res['computed'] else 0.0
    print(f"{res['images']} images: {res['computed']} computed, {res['skipped']} already done "
          f'({rate:.2f} images/s) -> {args.out_dir}')
    report_failed(res['failed'], 'image', 'no UCM written for them')
    return res


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
