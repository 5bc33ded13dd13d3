#!/usr/bin/env bash
# tools/readout/readout.sh READOUT_CONFIG PRETRAIN_CKPT GPUS [train.py args...]
# Reads out an mmdense pretraining checkpoint with the frozen-backbone config READOUT_CONFIG
# (MMSeg / MMDet model; the backbone, and a C4 detector's RoI head, load the checkpoint's
# `backbone.*` weights strictly, no conversion step). GPUS=1 runs in this process; more use
# tools/dist_train.sh (CPU: gloo). PRETRAIN_CKPT=none gives the random-init baseline with BN's
# default statistics; a detection readout's random-init row should read the checkpoint of
# tools/readout/random_init_checkpoint.py instead (random weights, BN statistics of the data).
# Slurm: tools/readout/slurm_readout.sh.
set -e
CONFIG=$1
CKPT=$2
GPUS=${3:-1}
if [ -z "$CONFIG" ] || [ -z "$CKPT" ]; then
  echo "usage: $0 READOUT_CONFIG PRETRAIN_CKPT [GPUS] [tools/train.py args...]" >&2; exit 2
fi
DIR=$(cd "$(dirname "$0")/.." && pwd)
VENV_PY=${MMDENSE_VENV:-$DIR/../.venv}/bin/python  # the venv tools/install.sh made, if any
PYTHON=${PYTHON:-$([ -x "$VENV_PY" ] && echo "$VENV_PY" || echo python)}
OPTS=$($PYTHON "$DIR/readout/readout_options.py" "$CONFIG" "$CKPT")
mapfile -t OPTS <<< "$OPTS"
if [ "$GPUS" -gt 1 ]; then
  exec bash "$DIR/dist_train.sh" "$CONFIG" "$GPUS" "${@:4}" --cfg-options "${OPTS[@]}"
fi
exec $PYTHON "$DIR/train.py" "$CONFIG" "${@:4}" --cfg-options "${OPTS[@]}"
