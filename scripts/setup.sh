#!/usr/bin/env bash
# Install yuyin into .venv (with --dev: the test tools too) on a fresh machine.
# Needs only python3 (>= 3.10) with pip; as root it installs missing system packages with apt.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

apt_install() {  # apt_install PKG...: install Debian packages that are missing (root only)
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "setup: please install: ${missing[*]} (apt-get install -y ${missing[*]})" >&2
    return 1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    # Debian's own python3 keeps venv in a separate package.
    rm -rf "$VENV"
    apt_install python3-venv
    "$PYTHON" -m venv "$VENV"
  fi
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
if [ "${1:-}" = "--dev" ]; then
  "$VENV/bin/python" -m pip install -q -e '.[dev]'
  # openai-whisper without triton (GPU kernels, ~290 MB, unused on the CPU); the dev extra
  # lists its other dependencies (issue 13).
  "$VENV/bin/python" -m pip install -q --no-deps 'openai-whisper==20250625'
  # Browser tests drive Debian's Chromium (Playwright never downloads a browser here);
  # a CJK font makes screenshots of the 繁體中文 interface legible.
  [ -x /usr/bin/chromium ] && dpkg -s fonts-wqy-microhei >/dev/null 2>&1 \
    || apt_install chromium fonts-wqy-microhei
else
  "$VENV/bin/python" -m pip install -q -e '.[server,audio,openai]'
fi
# Join the split multilingual model once now, so the first transcription starts at once.
"$VENV/bin/python" -c "import yuyin; yuyin.resolve_model('base')"
