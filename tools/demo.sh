#!/usr/bin/env bash
# The demo, end to end on a CPU:
#   1. set up the environment (tools/install.sh; steps already done are only checked),
#   2. generate the demo world (labelled clips over real photos, exact flow),
#   3. pretrain FlowE on its frame pairs (dilated ResNet-18, exact flow),
#   4. read the frozen encoder out with MMSeg (one 3x3 conv head, DeepLab-v1 style) and print the
#      val mIoU from MMSeg's evaluator, next to the same readout of a random-init encoder,
#   5. read it out with MMDet (Faster R-CNN C4: frozen backbone + frozen layer4 RoI head) and
#      print the val bbox mAP from MMDet's COCO evaluator, pretrained vs random init.
# Env: MMDENSE_VENV (default .venv), DEMO_CONFIG, DEMO_READOUT, DEMO_DET_READOUT (`none`: skip
#      the detection readout), DEMO_WORK_DIR, DEMO_ITERS, DEMO_READOUT_ITERS. Other methods:
#      DEMO_CONFIG=configs/cacl/cacl_resnet18-d8_1xb8-300iters_demo-world.py \
#      DEMO_READOUT=configs/readout/seg/linear_r18-d8-frozen_1xb8-400iters_demo-world.py \
#      DEMO_DET_READOUT=none bash tools/demo.sh
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
VENV=${MMDENSE_VENV:-$REPO/.venv}
CONFIG=${DEMO_CONFIG:-configs/flowe/flowe_resnet18-d8_1xb8-300iters_demo-world.py}
READOUT=${DEMO_READOUT:-configs/readout/seg/deeplabv1_r18-d8-frozen_1xb8-400iters_demo-world.py}
DET_READOUT=${DEMO_DET_READOUT:-configs/readout/det/faster-rcnn_r18-c4-frozen_1xb4-300iters_demo-world.py}
WORK_DIR=${DEMO_WORK_DIR:-work_dirs/demo}
ITERS=${DEMO_ITERS:-300}
RO_ITERS=${DEMO_READOUT_ITERS:-300}

bash tools/install.sh
PY="$VENV/bin/python"
export PYTHON="$PY"
echo "[demo] generating the demo world in data/demo_world"
"$PY" tools/misc/make_demo_world.py data/demo_world
if grep -q "hiergroup" <<< "$CONFIG"; then  # its data layer reads precomputed UCM trees
  echo "[demo] UCM region trees of the demo world (tools/ucm/compute_ucm.py)"
  "$PY" tools/ucm/compute_ucm.py data/demo_world/frames data/demo_world_ucm --workers 2
fi
echo "[demo] pretraining $CONFIG for $ITERS iterations (work dir $WORK_DIR/pretrain)"
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR/pretrain" \
  --cfg-options train_cfg.max_iters="$ITERS" default_hooks.checkpoint.interval="$ITERS" \
  param_scheduler.1.end="$ITERS" param_scheduler.1.T_max="$((ITERS - 20))"
CKPT=$(cat "$WORK_DIR/pretrain/last_checkpoint")
RO_OPTS=(train_cfg.max_iters="$RO_ITERS" train_cfg.val_interval="$RO_ITERS")
readout() {  # readout TASK CONFIG RUN CKPT [cfg-options...]
  local log="$WORK_DIR/${1}_readout_$3.log"
  echo "[demo] frozen $1 readout ($3 encoder): $2"
  bash tools/readout/readout.sh "$2" "$4" 1 --work-dir "$WORK_DIR/${1}_readout_$3" \
    --cfg-options "${RO_OPTS[@]}" "${@:5}" > "$log" 2>&1 || { tail -n 30 "$log"; exit 1; }
}
for run in pretrained random; do
  ck=$CKPT; [ $run = random ] && ck=none
  readout seg "$READOUT" $run "$ck" param_scheduler.0.end="$RO_ITERS"
  [ "$DET_READOUT" = none ] && continue
  readout det "$DET_READOUT" $run "$ck" param_scheduler.1.end="$RO_ITERS" \
    param_scheduler.1.milestones="[$((RO_ITERS * 2 / 3)),$((RO_ITERS * 9 / 10))]" \
    default_hooks.checkpoint.interval="$RO_ITERS"
done
echo
printf '[demo] demo-world val, frozen encoder (%s):\n' "$(basename "$CONFIG" .py)"
printf '  %-22s %-26s %s\n' "encoder" "mIoU ($(basename "$READOUT" | cut -d_ -f1))" \
  "bbox mAP (Faster R-CNN C4)"
for run in pretrained random; do
  label="$(basename "$CONFIG" | cut -d_ -f1) ($ITERS iters)"
  [ $run = random ] && label="random init"
  m=$(grep -o "mIoU: [0-9.]*" "$WORK_DIR/seg_readout_$run.log" | tail -n 1 | cut -d' ' -f2)
  b=-
  [ "$DET_READOUT" != none ] && \
    b=$(grep -o "coco/bbox_mAP: [0-9.]*" "$WORK_DIR/det_readout_$run.log" | tail -n 1 | cut -d' ' -f2)
  printf '  %-22s %-26s %s\n' "$label" "$m" "$b"
done
