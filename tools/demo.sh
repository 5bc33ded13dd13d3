#!/usr/bin/env bash
# bash tools/demo.sh [--full]: the demo, end to end on a CPU.
#   1. set up the environment (tools/install.sh; steps already done are only checked),
#   2. generate the demo world (labelled clips over real photos, exact flow),
#   3. pretrain FlowE on its frame pairs (dilated ResNet-18, exact flow),
#   4. read the frozen encoder out with MMSeg (one 3x3 conv head, DeepLab-v1 style), and the same
#      readout of a random-init encoder (random weights, BN statistics of the training images);
#      val mIoU from MMSeg's evaluator,
#   5. read both out with MMDet (Faster R-CNN C4: frozen backbone + frozen layer4 RoI head);
#      val bbox mAP from MMDet's COCO evaluator,
#   6. write a picture (val frames: input, ground truth, each encoder's readout prediction and a
#      PCA picture of its features) and print the table and the wall time.
# Each phase shows its iteration and mmengine's ETA; its full log goes to WORK_DIR/*.log.
# Default: the quick demo (fewer iterations, a pipeline check in minutes, work_dirs/demo).
# --full: 300 pretraining + 300 readout iterations each (about an hour on 2 CPU cores,
#         work_dirs/demo_full).
# Env: MMDENSE_VENV (default .venv), DEMO_CONFIG, DEMO_READOUT, DEMO_DET_READOUT (`none`: skip
#      the detection readout), DEMO_WORK_DIR, DEMO_ITERS (pretraining), DEMO_READOUT_ITERS (seg
#      readout), DEMO_DET_ITERS (det readout). Other methods:
#      DEMO_CONFIG=configs/cacl/cacl_resnet18-d8_1xb8-300iters_demo-world.py \
#      DEMO_READOUT=configs/readout/seg/linear_r18-d8-frozen_1xb8-400iters_demo-world.py \
#      DEMO_DET_READOUT=none bash tools/demo.sh
set -euo pipefail
FULL=0
for arg in "$@"; do
  case $arg in
    --full) FULL=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d;s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: bash tools/demo.sh [--full]   (unknown argument: $arg)" >&2; exit 2 ;;
  esac
done
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
VENV=${MMDENSE_VENV:-$REPO/.venv}
CONFIG=${DEMO_CONFIG:-configs/flowe/flowe_resnet18-d8_1xb8-300iters_demo-world.py}
READOUT=${DEMO_READOUT:-configs/readout/seg/deeplabv1_r18-d8-frozen_1xb8-400iters_demo-world.py}
DET_READOUT=${DEMO_DET_READOUT:-configs/readout/det/faster-rcnn_r18-c4-frozen_1xb4-300iters_demo-world.py}
if [ $FULL = 1 ]; then
  DEF_WORK_DIR=work_dirs/demo_full DEF_ITERS=300 DEF_SEG_ITERS=300 DEF_DET_ITERS=300
else  # quick: a pipeline check that fits in minutes on 2 CPU cores
  DEF_WORK_DIR=work_dirs/demo DEF_ITERS=40 DEF_SEG_ITERS=100 DEF_DET_ITERS=10
fi
WORK_DIR=${DEMO_WORK_DIR:-$DEF_WORK_DIR}
ITERS=${DEMO_ITERS:-$DEF_ITERS}
RO_ITERS=${DEMO_READOUT_ITERS:-$DEF_SEG_ITERS}
DET_ITERS=${DEMO_DET_ITERS:-${DEMO_READOUT_ITERS:-$DEF_DET_ITERS}}
mkdir -p "$WORK_DIR"

T_START=$SECONDS
TIMES=()
fmt() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
TTY=0
[ -t 1 ] && TTY=1
status() {  # status LOG: "[ 40/100] eta 0:01:10" from the last mmengine progress line of LOG
  local it eta
  it=$(grep -ao 'Iter([a-z]*) *\[ *[0-9]*/[0-9]*\]' "$1" 2>/dev/null | tail -n 1 || true)
  eta=$(grep -ao 'eta: [0-9:]*' "$1" 2>/dev/null | tail -n 1 || true)
  [ -z "$it" ] && return 0
  it=$(sed 's/Iter(\([a-z]*\)) *\[ */\1 /;s/\]//' <<< "$it")
  printf '%s iterations, eta %s' "$it" "${eta#eta: }"
}
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null' EXIT
run_phase() {  # run_phase TITLE LOG CMD...: CMD's output goes to LOG; a status line with its ETA
  local title=$1 log=$2 t0=$SECONDS last='' shown=-99 line
  shift 2
  "$@" > "$log" 2>&1 &
  PID=$!
  while kill -0 "$PID" 2>/dev/null; do
    sleep 1
    line=$(status "$log")
    if [ $TTY = 1 ]; then
      printf '\r\033[K[demo] %s: %s (%s)' "$title" "${line:-starting}" "$(fmt $((SECONDS - t0)))"
    elif [ -n "$line" ] && [ "$line" != "$last" ] && [ $((SECONDS - shown)) -ge 15 ]; then
      echo "[demo] $title: $line"  # not a terminal: a new line at most every 15 s
      last=$line shown=$SECONDS
    fi
  done
  if ! wait "$PID"; then
    PID=
    [ $TTY = 1 ] && echo
    tail -n 30 "$log"
    echo "[demo] $title failed; full log: $log" >&2
    exit 1
  fi
  PID=
  [ $TTY = 1 ] && printf '\r\033[K'
  echo "[demo] $title: done in $(fmt $((SECONDS - t0)))"
  TIMES+=("$title $(fmt $((SECONDS - t0)))")
}
log_every() { local n=$(($1 / 15)); echo $((n < 1 ? 1 : (n > 20 ? 20 : n))); }

t0=$SECONDS
bash tools/install.sh
TIMES+=("setup $(fmt $((SECONDS - t0)))")
PY="$VENV/bin/python"
export PYTHON="$PY"
echo "[demo] generating the demo world in data/demo_world"
"$PY" tools/misc/make_demo_world.py data/demo_world
if grep -q "hiergroup" <<< "$CONFIG"; then  # its data layer reads precomputed UCM trees
  echo "[demo] UCM region trees of the demo world (tools/ucm/compute_ucm.py)"
  "$PY" tools/ucm/compute_ucm.py data/demo_world/frames data/demo_world_ucm --workers 2
fi
echo "[demo] $(basename "$CONFIG" .py): $ITERS pretraining iterations, readouts of $RO_ITERS" \
  "(seg) and $DET_ITERS (det) iterations; logs in $WORK_DIR/"
WARMUP=$((ITERS / 10 < 1 ? 1 : (ITERS / 10 < 20 ? ITERS / 10 : 20)))
run_phase "pretrain" "$WORK_DIR/pretrain.log" \
  "$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR/pretrain" \
  --cfg-options train_cfg.max_iters="$ITERS" default_hooks.checkpoint.interval="$ITERS" \
  default_hooks.logger.interval="$(log_every "$ITERS")" \
  param_scheduler.0.end="$WARMUP" param_scheduler.1.begin="$WARMUP" \
  param_scheduler.1.end="$ITERS" param_scheduler.1.T_max="$((ITERS - WARMUP))"
CKPT=$(cat "$WORK_DIR/pretrain/last_checkpoint")
ln -sfn "$(basename "$CKPT")" "$WORK_DIR/pretrain/encoder.pth"  # a name the READMEs can use
echo "[demo] pretrained encoder: $CKPT (also $WORK_DIR/pretrain/encoder.pth)"
readout() {  # readout TASK CONFIG RUN CKPT ITERS [cfg-options...]
  run_phase "$1 readout ($3)" "$WORK_DIR/${1}_readout_$3.log" \
    bash tools/readout/readout.sh "$2" "$4" 1 --work-dir "$WORK_DIR/${1}_readout_$3" \
    --cfg-options train_cfg.max_iters="$5" train_cfg.val_interval="$5" \
    default_hooks.logger.interval="$(log_every "$5")" "${@:6}"
}
# the random-init rows: random weights with BN statistics of the readout's training images, as
# every pretrained encoder carries BN statistics of its data
# (tools/readout/random_init_checkpoint.py)
random_init() {  # random_init TASK CONFIG: writes WORK_DIR/random_init/TASK.pth
  run_phase "random-init encoder for the $1 readout (BN statistics)" \
    "$WORK_DIR/random_init_$1.log" \
    "$PY" tools/readout/random_init_checkpoint.py "$2" "$WORK_DIR/random_init/$1.pth" --seed 0
}
random_init seg "$READOUT"
for run in pretrained random; do
  ck=$CKPT; [ $run = random ] && ck="$WORK_DIR/random_init/seg.pth"
  readout seg "$READOUT" $run "$ck" "$RO_ITERS" param_scheduler.0.end="$RO_ITERS"
done
if [ "$DET_READOUT" != none ]; then
  random_init det "$DET_READOUT"
  for run in pretrained random; do
    ck=$CKPT; [ $run = random ] && ck="$WORK_DIR/random_init/det.pth"
    readout det "$DET_READOUT" $run "$ck" "$DET_ITERS" param_scheduler.0.end="$((DET_ITERS < 6 ? 1 : DET_ITERS / 6))" \
      param_scheduler.1.end="$DET_ITERS" \
      param_scheduler.1.milestones="[$((DET_ITERS * 2 / 3)),$((DET_ITERS * 9 / 10))]" \
      default_hooks.checkpoint.interval="$DET_ITERS"
  done
fi
PICTURE="$WORK_DIR/demo.png"
run_phase "picture" "$WORK_DIR/picture.log" \
  "$PY" tools/misc/demo_picture.py "$READOUT" "pretrained=$WORK_DIR/seg_readout_pretrained" \
  "random init=$WORK_DIR/seg_readout_random" --out "$PICTURE"

echo
printf '[demo] demo-world val, frozen encoder (%s):\n' "$(basename "$CONFIG" .py)"
printf '  %-22s %-26s %s\n' "encoder" "mIoU ($(basename "$READOUT" | cut -d_ -f1))" \
  "bbox mAP (Faster R-CNN C4)"
for run in pretrained random; do
  label="$(basename "$CONFIG" | cut -d_ -f1) ($ITERS iters)"
  [ $run = random ] && label="random init"
  m=$(grep -ao "mIoU: [0-9.]*" "$WORK_DIR/seg_readout_$run.log" | tail -n 1 | cut -d' ' -f2)
  b=-
  [ "$DET_READOUT" != none ] && \
    b=$(grep -ao "coco/bbox_mAP: [0-9.]*" "$WORK_DIR/det_readout_$run.log" | tail -n 1 | cut -d' ' -f2)
  printf '  %-22s %-26s %s\n' "$label" "$m" "$b"
done
echo "[demo] picture (val frames: input, ground truth, readout prediction and feature PCA," \
  "pretrained vs random init): $PICTURE"
WALL=$((SECONDS - T_START))
echo "[demo] wall time $(fmt $WALL) on $(nproc) CPU cores ($(IFS=,; sed 's/,/, /g' <<< "${TIMES[*]}"))"
