#!/usr/bin/env bash
# tools/dist_train.sh CONFIG GPUS [train.py args...]
# Starts GPUS processes with torchrun on this node. Without GPUs the processes run on the CPU
# with the gloo backend (useful for tests and small demos).
set -e
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-$((29500 + RANDOM % 1000))}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
if [ -z "$CONFIG" ] || [ -z "$GPUS" ]; then
  echo "usage: $0 CONFIG GPUS [tools/train.py args...]" >&2; exit 2
fi
DIR=$(cd "$(dirname "$0")" && pwd)
VENV_PY=${MMDENSE_VENV:-$DIR/../.venv}/bin/python  # the venv tools/install.sh made, if any
PYTHON=${PYTHON:-$([ -x "$VENV_PY" ] && echo "$VENV_PY" || echo python)}
PYTHONPATH="$DIR/..":$PYTHONPATH \
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
exec $PYTHON -m torch.distributed.run \
    --nnodes=$NNODES --node_rank=$NODE_RANK --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS --master_port=$PORT \
    "$DIR/train.py" "$CONFIG" --launcher pytorch "${@:3}"
