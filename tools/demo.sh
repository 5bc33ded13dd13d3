#!/usr/bin/env bash
# The demo, end to end on a CPU in a few minutes:
#   1. set up the environment (tools/install.sh; skipped steps are checked in seconds),
#   2. generate the demo world (labelled clips over real photos, exact flow),
#   3. pretrain the demo config on its frame pairs,
#   4. score the frozen backbone with the dense linear probe (MMSeg mIoU on the val clips)
#      against the same network at random init, and print both.
# Env: MMDENSE_VENV (default .venv), DEMO_CONFIG, DEMO_WORK_DIR, DEMO_ITERS.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
VENV=${MMDENSE_VENV:-$REPO/.venv}
CONFIG=${DEMO_CONFIG:-configs/baselines/mocov2_resnet18_1xb8-300iters_demo-world.py}
WORK_DIR=${DEMO_WORK_DIR:-work_dirs/demo}
ITERS=${DEMO_ITERS:-300}

bash tools/install.sh
PY="$VENV/bin/python"
echo "[demo] generating the demo world in data/demo_world"
"$PY" tools/misc/make_demo_world.py data/demo_world
echo "[demo] pretraining $CONFIG for $ITERS iterations (work dir $WORK_DIR)"
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" \
  --cfg-options train_cfg.max_iters="$ITERS" default_hooks.checkpoint.interval="$ITERS"
CKPT=$(cat "$WORK_DIR/last_checkpoint")
echo "[demo] dense linear probe of $CKPT vs random init"
"$PY" tools/analysis_tools/dense_probe.py "$CONFIG" "$CKPT" --data-root data/demo_world \
  --compare-random --out "$WORK_DIR/dense_probe.json"
