#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages videochat needs, only those that are missing:
# ffmpeg (capture, codecs), libasound2-dev (the `speaker` audio output) and a C++ toolchain
# (g++, make, python3) because npm builds `speaker` from source; libwebrtc-audio-processing-dev
# and pkg-config for the echo canceller addon (optional: calls work without it).
#   --test   also the packages the test suite uses (terminals, X server, imagemagick, socat,
#            zsh and fish for the completion tests)
# Uses sudo when not run as root. Prints what it does; changes nothing when all is present.
set -euo pipefail

need=(ffmpeg libasound2-dev g++ make python3 pkg-config libwebrtc-audio-processing-dev)
if [ "${1:-}" = "--test" ]; then
  need+=(espeak-ng tmux xvfb xterm mlterm imagemagick socat chafa groff-base iproute2 jq x11-apps x11-utils zsh fish python3-numpy redis-server)
fi

missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present (${need[*]})"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "videochat: missing system packages: ${missing[*]}; install them with your package manager" >&2
  exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    echo "videochat: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
