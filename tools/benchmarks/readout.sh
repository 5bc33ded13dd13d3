#!/usr/bin/env bash
# tools/benchmarks/readout.sh READOUT_CONFIG PRETRAIN_CKPT GPUS [train.py args...]
# Reads out an mmdense pretraining checkpoint with the frozen-backbone config READOUT_CONFIG
# (MMSeg / MMDet model; the backbone, and a C4 detector's RoI head, load the checkpoint's
# `backbone.*` weights strictly, no conversion step). GPUS=1 runs in this process; more use tools/dist_train.sh (CPU: gloo).
# PRETRAIN_CKPT=none gives the random-init baseline.
set -e
CONFIG=$1
CKPT=$2
GPUS=${3:-1}
if [ -z "$CONFIG" ] || [ -z "$CKPT" ]; then
  echo "usage: $0 READOUT_CONFIG PRETRAIN_CKPT [GPUS] [tools/train.py args...]" >&2; exit 2
fi
if [ "$CKPT" != "none" ] && [ ! -f "$CKPT" ]; then
  echo "error: pretraining checkpoint $CKPT does not exist" >&2; exit 2
fi
DIR=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python}
VAL=$CKPT; [ "$CKPT" = "none" ] && VAL=None
OPTS=("model.backbone.pretrained_ckpt=$VAL")
# ResNet-C4 detectors: the RoI head is the encoder's last stage, loaded from the same checkpoint
if PYTHONPATH="$DIR/..:${PYTHONPATH:-}" $PYTHON -c "import sys; from mmengine.config import Config; \
    c = Config.fromfile(sys.argv[1]); sys.exit(0 if c.model.get('roi_head', {}).get('shared_head') else 1)" "$CONFIG"; then
  OPTS+=("model.roi_head.shared_head.pretrained_ckpt=$VAL")
fi
if [ "$GPUS" -gt 1 ]; then
  exec bash "$DIR/dist_train.sh" "$CONFIG" "$GPUS" "${@:4}" --cfg-options "${OPTS[@]}"
fi
exec $PYTHON "$DIR/train.py" "$CONFIG" "${@:4}" --cfg-options "${OPTS[@]}"
