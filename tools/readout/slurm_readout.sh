#!/usr/bin/env bash
# tools/readout/slurm_readout.sh PARTITION JOB_NAME READOUT_CONFIG PRETRAIN_CKPT WORK_DIR
#                                   [train.py args...]
# The slurm twin of readout.sh: runs READOUT_CONFIG through tools/slurm_train.sh with the
# backbone (and a C4 detector's shared RoI head) loaded from PRETRAIN_CKPT (`none`: random init).
# Env as tools/slurm_train.sh: GPUS (total, default 8), GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS.
set -e
if [ $# -lt 5 ]; then
  echo "usage: $0 PARTITION JOB_NAME READOUT_CONFIG PRETRAIN_CKPT WORK_DIR [train.py args...]" >&2
  exit 2
fi
DIR=$(cd "$(dirname "$0")/.." && pwd)
VENV_PY=${MMDENSE_VENV:-$DIR/../.venv}/bin/python  # the venv tools/install.sh made, if any
PYTHON=${PYTHON:-$([ -x "$VENV_PY" ] && echo "$VENV_PY" || echo python)}
OPTS=$($PYTHON "$DIR/readout/readout_options.py" "$3" "$4")
mapfile -t OPTS <<< "$OPTS"
exec bash "$DIR/slurm_train.sh" "$1" "$2" "$3" "$5" "${@:6}" --cfg-options "${OPTS[@]}"
