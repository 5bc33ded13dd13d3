#!/usr/bin/env bash
# The demo, end to end on a CPU:
#   1. set up the environment (tools/install.sh; steps already done are only checked),
#   2. generate the demo world (labelled clips over real photos, exact flow),
#   3. pretrain FlowE on its frame pairs (dilated ResNet-18, exact flow),
#   4. read the frozen encoder out with MMSeg (one 3x3 conv head, DeepLab-v1 style) and print the
#      val mIoU from MMSeg's evaluator, next to the same readout of a random-init encoder.
# Env: MMDENSE_VENV (default .venv), DEMO_CONFIG, DEMO_READOUT, DEMO_WORK_DIR, DEMO_ITERS,
#      DEMO_READOUT_ITERS.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
VENV=${MMDENSE_VENV:-$REPO/.venv}
CONFIG=${DEMO_CONFIG:-configs/flowe/flowe_resnet18-d8_1xb8-300iters_demo-world.py}
READOUT=${DEMO_READOUT:-configs/readout/seg/deeplabv1_r18-d8-frozen_1xb8-400iters_demo-world.py}
WORK_DIR=${DEMO_WORK_DIR:-work_dirs/demo}
ITERS=${DEMO_ITERS:-300}
RO_ITERS=${DEMO_READOUT_ITERS:-300}

bash tools/install.sh
PY="$VENV/bin/python"
export PYTHON="$PY"
echo "[demo] generating the demo world in data/demo_world"
"$PY" tools/misc/make_demo_world.py data/demo_world
echo "[demo] pretraining $CONFIG for $ITERS iterations (work dir $WORK_DIR/pretrain)"
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR/pretrain" \
  --cfg-options train_cfg.max_iters="$ITERS" default_hooks.checkpoint.interval="$ITERS" \
  param_scheduler.1.end="$ITERS" param_scheduler.1.T_max="$((ITERS - 20))"
CKPT=$(cat "$WORK_DIR/pretrain/last_checkpoint")
RO_OPTS=(train_cfg.max_iters="$RO_ITERS" train_cfg.val_interval="$RO_ITERS"
         param_scheduler.0.end="$RO_ITERS")
for run in pretrained random; do
  ck=$CKPT; [ $run = random ] && ck=none
  echo "[demo] frozen readout ($run encoder): $READOUT"
  bash tools/benchmarks/readout.sh "$READOUT" "$ck" 1 --work-dir "$WORK_DIR/readout_$run" \
    --cfg-options "${RO_OPTS[@]}" > "$WORK_DIR/readout_$run.log" 2>&1 || {
      tail -n 30 "$WORK_DIR/readout_$run.log"; exit 1; }
done
echo
echo "[demo] demo-world val mIoU (MMSeg IoUMetric), frozen encoder + one-conv readout:"
for run in pretrained random; do
  label="FlowE ($ITERS iters)"
  [ $run = random ] && label="random init"
  m=$(grep -o "mIoU: [0-9.]*" "$WORK_DIR/readout_$run.log" | tail -n 1)
  printf '  %-22s %s\n' "$label" "$m"
done
