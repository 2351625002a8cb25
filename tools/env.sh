# Source this to get the venv and the colcon-built package: `. tools/env.sh`
_videorag_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC1091
_videorag_venv="${VIDEORAG_VENV:-$HOME/.cache/videorag/venv-py311}"
. "$_videorag_venv/bin/activate"
export AMENT_PREFIX_PATH="$_videorag_venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
# ros2 launch / the ros2 CLI where tools/setup_env.sh installed them (../shared/ros2-tools)
if [ -f "$_videorag_venv/ros2-tools/setup.bash" ]; then
  # shellcheck disable=SC1091
  . "$_videorag_venv/ros2-tools/setup.bash"
fi
# shellcheck disable=SC1091
. "$_videorag_root/install/setup.bash"
unset _videorag_root _videorag_venv
